#!/usr/bin/python3
"""Floods under the memory budget (--memory-limit): each flood is generated into a temp
folder (tests/tools: offpath_gen_flood, gen_gzip_bomb.py), replayed with the default
flags, and offpath's peak resident memory is read from the child's rusage (os.wait4).
Checks: no crash, peak RSS <= limit + 64 MB, every request emitted or counted.

Then the shedding steps with a small limit (64M) on a smaller flood: every level is
reached and counted (bodies not kept, successes not encoded, flows evicted, flows
refused), records built while shedding say so ("degraded"), and once the flood is over
the level is back at 0: later exchanges are recorded whole again.

Usage: memory_floods.py --bin OFFPATH --gen OFFPATH_GEN_FLOOD [--only NAME]
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GZIP_BOMB = os.path.join(HERE, "..", "tools", "gen_gzip_bomb.py")
SCHEMA = os.path.join(HERE, "..", "..", "docs", "schema", "offpath-1.schema.json")
DEFAULT_LIMIT_MB = 512
OVERHEAD_MB = 64


def replay(binary, capture, extra):
    """Runs offpath; returns (summary counters, stderr, peak RSS in MB)."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen([binary, "-r", capture] + extra, stdout=subprocess.DEVNULL,
                                 stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"offpath exited with {child.returncode}:\n{text}")
    counters = {}
    for line in text.splitlines():
        if not line.startswith("offpath: ") or "warning" in line:
            continue
        for key, value in re.findall(r"(\w+)=(\d+)", line):
            counters.setdefault(key, int(value))  # the first line that names it
    return counters, text, usage.ru_maxrss / 1024.0  # ru_maxrss is in KB on Linux


class Checks:
    def __init__(self):
        self.good = True
        self.figures = []

    def check(self, name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        self.good &= bool(ok)

    def bounded(self, name, rss, counters):
        bound = DEFAULT_LIMIT_MB + OVERHEAD_MB
        self.figures.append((name, rss, counters.get("max_level", -1)))
        self.check(f"{name}: peak RSS <= {bound} MB", rss <= bound,
                   f"{rss:.0f} MB (accounted peak {counters['peak'] / 2**20:.0f} MB, "
                   f"highest shedding level {counters['max_level']})")


def requests_accounted(c, n):
    """Every request: emitted as an exchange, or its segment refused (counted)."""
    return c["exchanges"] + c["refused_with_data"] >= n and c["exchanges"] <= n


def generate_and_replay(args, tmp, kind, *gen_args):
    """offpath_gen_flood KIND ARGS..., replayed with the defaults; the capture is deleted."""
    path = os.path.join(tmp, f"{kind}.pcap")
    subprocess.run([args.gen, path, kind] + [str(a) for a in gen_args], check=True)
    c, _, rss = replay(args.bin, path, ["-o", os.devnull])
    os.unlink(path)
    return c, rss


def flood_syn(args, tmp, ck):
    n = 1_000_000
    c, rss = generate_and_replay(args, tmp, "syn", n)
    ck.check("syn: every SYN tracked or refused", c["flows"] + c["flows_refused"] == n,
             f"flows={c['flows']} refused={c['flows_refused']}")
    ck.check("syn: no exchanges", c["exchanges"] == 0, f"exchanges={c['exchanges']}")
    ck.bounded("syn 1M", rss, c)


def flood_half_open(args, tmp, ck):
    n = 1_000_000
    c, rss = generate_and_replay(args, tmp, "half-open", n)
    ck.check("half-open: every request emitted or counted",
             c["exchanges"] + c["refused_with_data"] == n,
             f"exchanges={c['exchanges']} refused_with_data={c['refused_with_data']} (of {n})")
    ck.check("half-open: the budget evicted flows", c["flows_evicted"] > 0,
             f"flows_evicted={c['flows_evicted']} capture_ended={c.get('capture_ended', 0)}")
    ck.bounded("half-open 1M", rss, c)


def flood_ooo(args, tmp, ck):
    n = 200_000
    c, rss = generate_and_replay(args, tmp, "ooo", n, 1000)
    # Each tracked flow's held bytes end as one gap (evicted or at the end); a flow
    # refused at level 4 had its segment counted instead.
    ck.check("out-of-order: every held segment a gap or counted",
             c["gaps"] + c["refused_with_data"] == n,
             f"gaps={c['gaps']} refused_with_data={c['refused_with_data']} (of {n})")
    ck.bounded("out-of-order 200k x 1000 B", rss, c)


def flood_headers(args, tmp, ck, kind, n, size, label):
    c, rss = generate_and_replay(args, tmp, kind, n, size)
    ck.check(f"{kind}: every request emitted or counted", requests_accounted(c, n),
             f"exchanges={c['exchanges']} refused_with_data={c['refused_with_data']} (of {n})")
    ck.bounded(label, rss, c)


def flood_gzip_bomb(args, tmp, ck):
    path = os.path.join(tmp, "bomb.pcap")
    out = os.path.join(tmp, "bomb.jsonl")
    subprocess.run(["/usr/bin/python3", GZIP_BOMB, path, "1024"], check=True)
    c, _, rss = replay(args.bin, path, ["--publish", "all", "-o", out])
    with open(out) as f:
        records = [json.loads(line) for line in f if '"offpath/coverage/1"' not in line]
    os.unlink(path)
    body = b""
    if records and records[0]["response"] is not None:
        r = records[0]["response"]
        body = (base64.b64decode(r["body"]) if r["body_encoding"] == "base64"
                else r["body"].encode())
    ok = len(records) == 1 and records[0]["outcome"] == "complete" and 0 < len(body) <= 1024
    ck.check("gzip bomb: one complete record, decoded body within --max-body", ok,
             f"records={len(records)} decoded body bytes={len(body)}")
    ck.bounded("gzip bomb (1 GiB of zeros)", rss, c)


def shedding_steps(args, tmp, ck):
    path = os.path.join(tmp, "shed.pcap")
    out = os.path.join(tmp, "shed.jsonl")
    n = 20_000
    subprocess.run([args.gen, path, "shed", str(n)], check=True)
    c, err, rss = replay(args.bin, path, ["--memory-limit", "64M", "--publish", "all", "-o", out,
                                          "--ledger-interval", "1"])
    with open(out) as f:
        lines = [json.loads(line) for line in f]
    records = [r for r in lines if r["schema"] == "offpath/1"]
    ledger = [r for r in lines if r["schema"] == "offpath/coverage/1"]
    os.unlink(path)
    # The coverage ledger carries the shedding: its records add up to what was shed, and
    # some interval saw the highest level and memory in use.
    ck.check("shed: the ledger's records.shed add up to successes_not_encoded",
             sum(r["records"]["shed"] for r in ledger) == c["successes_not_encoded"],
             f"{len(ledger)} coverage records, shed={sum(r['records']['shed'] for r in ledger)}")
    ck.check("shed: the ledger saw shedding and memory in use",
             max(r["load"]["shedding_level"] for r in ledger) > 0 and
             all(r["load"]["memory_bytes"] > 0 for r in ledger),
             f"levels {sorted({r['load']['shedding_level'] for r in ledger})}")
    ck.check("shed: level 4 reached", c["max_level"] == 4, f"max_level={c['max_level']}")
    ck.check("shed: level 0 again at the end", c["level"] == 0, f"level={c['level']}")
    ck.check("shed: level 0 logged when it came back", " -> 0 (none)" in err,
             "log line 'memory shedding level N -> 0'")
    ck.check("shed 1: bodies not kept, counted", c["bodies_not_kept"] > 0,
             f"bodies_not_kept={c['bodies_not_kept']}")
    ck.check("shed 2: successes counted, not encoded", c["successes_not_encoded"] > 0,
             f"successes_not_encoded={c['successes_not_encoded']}")
    ck.check("shed 3: flows evicted", c["flows_evicted"] > 0 and c.get("evicted", 0) >= c["flows_evicted"],
             f"flows_evicted={c['flows_evicted']} outcome evicted={c.get('evicted', 0)}")
    ck.check("shed 4: flows refused", c["flows_refused"] > 0, f"flows_refused={c['flows_refused']}")
    levels = {r.get("degraded", 0) for r in records}
    ck.check("shed: records built at each level say so", {1, 2, 3, 4} <= levels,
             f"degraded values seen: {sorted(levels)}")
    import jsonschema
    with open(SCHEMA) as f:
        sch = json.load(f)
    validator = jsonschema.validators.validator_for(sch)(sch)
    sample = [r for r in records if "degraded" in r][:2000]
    errors = [e.message for r in sample for e in validator.iter_errors(r)]
    ck.check("shed: degraded records follow docs/schema/offpath-1.schema.json", not errors,
             f"{len(sample)} records checked{': ' + errors[0] if errors else ''}")
    ck.check("shed: every degraded record counted", c["degraded_records"] ==
             sum(1 for r in records if "degraded" in r), f"degraded_records={c['degraded_records']}")
    ck.check("shed: every exchange published or counted as not encoded",
             c["exchanges"] == c["published"] + c["successes_not_encoded"],
             f"exchanges={c['exchanges']} published={c['published']} "
             f"successes_not_encoded={c['successes_not_encoded']}")
    # Phase C, after the flood: complete exchanges recorded whole, not degraded.
    after = [r for r in records if r["request"] is not None and r["outcome"] == "complete"
             and r["timing"]["request_start"] > 1_700_000_300]
    ok = len(after) == 100 and all("degraded" not in r and len(r["request"]["body"]) == 512
                                   and len(r["response"]["body"]) == 512 for r in after)
    ck.check("shed undone: later exchanges whole, with bodies, not degraded", ok,
             f"{len(after)} exchanges after the flood")
    ck.check("shed: peak RSS <= 64 MB + 64 MB", rss <= 64 + OVERHEAD_MB, f"{rss:.0f} MB")


FLOODS = {
    "syn": flood_syn,
    "half-open": flood_half_open,
    "ooo": flood_ooo,
    "slow": lambda a, t, c: flood_headers(a, t, c, "slow", 20_000, 128,
                                          "slow headers 20k x 128 B, 1 B per packet"),
    "headers": lambda a, t, c: flood_headers(a, t, c, "headers", 10_000, 16384,
                                             "headers 10k x 16 KB"),
    "gzip-bomb": flood_gzip_bomb,
    "shed": shedding_steps,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--only", choices=sorted(FLOODS))
    args = ap.parse_args()
    ck = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in FLOODS.items():
            if args.only is None or args.only == name:
                run(args, tmp, ck)
    print("peak RSS with the default --memory-limit 512M:")
    for name, rss, level in ck.figures:
        print(f"  {name}: {rss:.0f} MB (highest shedding level {level})")
    print("all passed" if ck.good else "some failed")
    return 0 if ck.good else 1


if __name__ == "__main__":
    sys.exit(main())
