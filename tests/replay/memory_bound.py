#!/usr/bin/python3
"""Memory bounds under floods: a million half-open connections, and connections that all
hold out-of-order bytes. Replays generated captures and checks the eviction counters and
offpath's peak resident memory (GNU time). Usage: memory_bound.py --bin OFFPATH
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "tools", "gen_syn_flood.py")


def run(binary, capture, extra):
    # GNU time reports the peak resident memory of this one process.
    out = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb=%M", binary, "-r", capture] + extra,
                         capture_output=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    summary = out.stderr.decode()
    counters = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary)}
    return counters, counters["peak_rss_kb"] / 1024.0, summary


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    good = True
    with tempfile.TemporaryDirectory() as tmp:
        syn = os.path.join(tmp, "syn.pcap")
        subprocess.run(["/usr/bin/python3", GEN, syn, "1000000"], check=True)
        # --max-flows alone bounds this run: a budget large enough not to lower it (the
        # budget's own floods are memory_floods.py).
        c, rss, _ = run(args.bin, syn, ["--max-flows", "262144", "--memory-limit", "1G"])
        good &= check("syn flood flows", c["flows"] == 1_000_000, f"flows={c['flows']}")
        good &= check("syn flood evictions", c["evicted"] == 1_000_000 - 262_144,
                      f"evicted={c['evicted']} (1000000 flows, 262144 kept)")
        good &= check("syn flood exchanges", c["exchanges"] == 0, f"exchanges={c['exchanges']}")
        good &= check("syn flood peak RSS under 256 MB", rss < 256, f"{rss:.0f} MB")
        os.unlink(syn)

        ooo = os.path.join(tmp, "ooo.pcap")
        subprocess.run(["/usr/bin/python3", GEN, ooo, "200000", "1000"], check=True)
        c, rss, _ = run(args.bin, ooo, ["--max-buffered-bytes", "16000000"])
        # Each flow holds 1000 bytes: at most 16000 flows fit under 16 MB.
        good &= check("held-bytes evictions", c["evicted_for_memory"] >= 200_000 - 16_000,
                      f"evicted_for_memory={c['evicted_for_memory']}")
        good &= check("held bytes skipped as gaps, all counted", c["gaps"] == 200_000,
                      f"gaps={c['gaps']}")
        good &= check("out-of-order flood peak RSS under 128 MB", rss < 128, f"{rss:.0f} MB")
    print(f"{'all passed' if good else 'some failed'}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
