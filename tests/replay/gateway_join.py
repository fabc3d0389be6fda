#!/usr/bin/python3
"""Gateway view on the recorded gateway captures: every pcaps/gateway-*.pcap with its
nginx access log (NAME.nginx.log: method, request URI, status, $upstream_addr,
$upstream_status) is replayed with --workers 1 and --workers N, and each client-leg
record must agree with nginx's line for its request:
  - the same status, and one joined attempt per address nginx tried, in the same order;
  - on each attempt the status nginx logged, or null where nginx logged its own 502/504
    (a refused connect, a timeout);
  - with --format kong, upstream_uri is the client's target or its /api/ -> /v1/ swap
    (the attempt joined is the one the gateway made for this very request);
  - no upstream-leg record is published for an attempt that was joined.
Usage: gateway_join.py --bin offpath --dir pcaps [--workers N]
"""
import argparse
import json
import os
import subprocess
import sys


def run(binary, capture, workers, fmt="native"):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "-q", "--workers",
                          str(workers), "--format", fmt], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"offpath exited {out.returncode}: {out.stderr.decode()[-400:]}")
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def nginx_log(path):
    lines = {}
    for line in open(path):
        method, uri, status, rest = line.split(" ", 3)
        # "$upstream_addr $upstream_status": two comma lists of the same length.
        parts = rest.replace(",", "").split()
        n = len(parts) // 2
        addrs = parts[:n]
        statuses = [int(s) for s in parts[n:]]
        lines[(method, uri)] = (int(status), addrs, statuses)
    return lines


def check(binary, capture, log, workers):
    problems = []
    records = run(binary, capture, workers)
    clients = [r for r in records if r.get("leg") == "client"]
    if len(clients) != len(log):
        problems.append(f"{len(clients)} client-leg records, nginx logged {len(log)}")
    for r in clients:
        key = (r["request"]["method"], r["request"]["uri"])
        if key not in log:
            problems.append(f"{key}: not in nginx's log")
            continue
        status, addrs, statuses = log[key]
        tries = (r["upstream"] or {}).get("tries", [])
        got = r["response"]["status"] if r["response"] else None
        if got != status:
            problems.append(f"{key}: status {got}, nginx {status}")
        if [t["addr"] for t in tries] != addrs:
            problems.append(f"{key}: tries {[t['addr'] for t in tries]}, nginx {addrs}")
            continue
        for t, s in zip(tries, statuses):
            if not (t["status"] == s or (t["status"] is None and s in (502, 504))):
                problems.append(f"{key}: try {t['addr']} status {t['status']}, nginx {s}")
        if r["upstream"] and r["upstream"]["attempts"] != len(addrs):
            problems.append(f"{key}: attempts {r['upstream']['attempts']}")
    joined = sum(len((r["upstream"] or {}).get("tries", [])) for r in clients)
    alone = [r for r in records if r.get("leg") == "upstream"]
    summary = subprocess.run([binary, "-r", capture, "--publish", "all", "--workers",
                              str(workers)], capture_output=True, timeout=120).stderr.decode()
    if f"joined_upstream={joined} " not in summary:
        problems.append(f"summary does not count the {joined} joined attempts")
    if alone and any(a["request"] is not None and (a["request"]["method"], a["request"]["uri"])
                     in log for a in alone):
        problems.append(f"{len(alone)} upstream-leg records published alone")
    for r in run(binary, capture, workers, "kong"):
        if "upstream_uri" not in r:
            continue
        target = r["request"]["url"].split("://", 1)[1]
        target = target[target.index("/"):] if "/" in target else "/"
        if r["upstream_uri"] not in (target, target.replace("/api/", "/v1/", 1)):
            problems.append(f"kong: {target} joined to {r['upstream_uri']}")
    return problems, len(clients)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    names = sorted(f[:-len(".nginx.log")] for f in os.listdir(args.dir)
                   if f.startswith("gateway-") and f.endswith(".nginx.log"))
    if not names:
        print("no gateway captures")
        return 1
    failed = 0
    for name in names:
        log = nginx_log(os.path.join(args.dir, name + ".nginx.log"))
        for workers in (1, args.workers):
            problems, n = check(args.bin, os.path.join(args.dir, name + ".pcap"), log, workers)
            status = "FAIL" if problems else "ok  "
            print(f"{status} {name} --workers {workers}: {n} client-leg records")
            for p in problems[:20]:
                print("   ", p)
            failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
