#!/usr/bin/python3
"""Sharding test: every capture replayed with --workers N must give the same exchanges as
with --workers 1 (the inline path), as a multiset: the same records, any order. Records
are compared whole (every field), line by line after parsing; so is the end-of-run count
of exchanges. Usage: compare_sets.py --bin offpath --workers 3 DIR [DIR ...]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

CAPTURE = re.compile(r"\.(pcap|pcapng)$")


def replay(binary, capture, workers):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "--workers", str(workers)],
                         capture_output=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"offpath --workers {workers} exited {out.returncode}: "
                           f"{out.stderr.decode()[-500:]}")
    records = collections.Counter(
        json.dumps(json.loads(line), sort_keys=True) for line in out.stdout.decode().splitlines()
        if '"schema":"offpath/coverage/1"' not in line)
    summary = re.search(r"exchanges=(\d+)", out.stderr.decode())
    return records, int(summary.group(1)) if summary else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    captures = sorted(os.path.join(d, f) for d in args.dirs for f in os.listdir(d)
                      if CAPTURE.search(f))
    if not captures:
        print("no captures found")
        return 1
    failures = 0
    total = 0
    for capture in captures:
        one, one_count = replay(args.bin, capture, 1)
        many, many_count = replay(args.bin, capture, args.workers)
        total += sum(one.values())
        name = os.path.basename(capture)
        if one == many and one_count == many_count:
            print(f"ok   {name}: {sum(one.values())} exchanges")
            continue
        failures += 1
        print(f"FAIL {name}: --workers 1 gave {sum(one.values())} records "
              f"(summary {one_count}), --workers {args.workers} gave {sum(many.values())} "
              f"(summary {many_count})")
        for rec, n in (one - many).items():
            print(f"  only with 1 worker (x{n}): {rec[:300]}")
        for rec, n in (many - one).items():
            print(f"  only with {args.workers} workers (x{n}): {rec[:300]}")
    print(f"{len(captures) - failures} of {len(captures)} captures agree "
          f"({total} exchanges with --workers 1)")
    if total == 0:
        print("no exchanges at all: nothing was compared")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
