#!/usr/bin/python3
"""Agreement with Wireshark: replays every public capture and compares, per connection
and in order, method + uri + status with the exchanges tshark sees (NAME.expected.jsonl
beside each capture). Prints the agreement per file and in total, and fails below the
threshold. Differences that are tshark's mistakes are explained in tests/replay/ORACLE.md.
"""
import argparse
import difflib
import json
import os
import subprocess
import sys


def conn_of(rec):
    def ep(e):
        ip = e["ip"]
        return f"[{ip}]:{e['port']}" if ":" in ip else f"{ip}:{e['port']}"
    return f"{ep(rec['client'])}-{ep(rec['server'])}"


def offpath_exchanges(binary, capture):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "--max-body", "0", "-q",
                          "--workers", "1"],
                         capture_output=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"offpath failed on {capture}: {out.stderr.decode(errors='replace')}")
    per_conn = {}
    for line in out.stdout.decode().splitlines():
        rec = json.loads(line)
        if rec["schema"] != "offpath/1":
            continue  # the coverage ledger's record
        if rec["request"] is None:
            continue  # orphan responses: the oracle lists requests only
        status = rec["response"]["status"] if rec["response"] else None
        per_conn.setdefault(conn_of(rec), []).append(
            (rec["request"]["method"], rec["request"]["uri"], status))
    return per_conn


def expected_exchanges(path):
    per_conn = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            per_conn.setdefault(rec["conn"], []).append((rec["method"], rec["uri"], rec["status"]))
    return per_conn


def matches(expected, actual):
    sm = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    return sum(block.size for block in sm.get_matching_blocks())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--min", type=float, default=0.90)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    total_n = total_m = 0
    names = sorted(f[: -len(".expected.jsonl")] for f in os.listdir(args.dir)
                   if f.endswith(".expected.jsonl"))
    if not names:
        print(f"no *.expected.jsonl under {args.dir}")
        return 1
    for name in names:
        exp = expected_exchanges(os.path.join(args.dir, name + ".expected.jsonl"))
        act = offpath_exchanges(args.bin, os.path.join(args.dir, name))
        n = sum(len(v) for v in exp.values())
        m = sum(matches(v, act.get(conn, [])) for conn, v in exp.items())
        total_n += n
        total_m += m
        mark = "" if m == n else "   <-- differs"
        print(f"{name}: {m}/{n}{mark}")
        if args.verbose and m != n:
            for conn, v in exp.items():
                a = act.get(conn, [])
                if matches(v, a) != len(v):
                    print(f"  {conn}\n    expected {v}\n    offpath  {a}")
    pct = 100.0 * total_m / total_n if total_n else 0.0
    print(f"agreement: {total_m}/{total_n} exchanges ({pct:.1f}%)")
    if total_m < args.min * total_n:
        print(f"FAIL: agreement below {args.min * 100:.0f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
