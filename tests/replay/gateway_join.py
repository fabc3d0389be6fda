#!/usr/bin/python3
"""Gateway view on the recorded gateway captures: every pcaps/gateway-*.pcap with its
gateway's log is replayed with --workers 1 and --workers N, and each client-leg record
must agree with the gateway's line for its request.

NAME.nginx.log (method, request URI, status, $upstream_addr, $upstream_status, and for
gRPC "grpc=" with the backend's grpc-status from its headers or trailers, "-" for none;
with "id=$request_id" last, a line is the record whose correlation_id is that id, else
the record with its method and URI):
  - the same status, and one joined attempt per address nginx tried, in the same order;
  - on each attempt the status nginx logged, or null where nginx logged its own 502/504
    (a refused connect, a reset or close before a whole response head, a timeout) or
    none at all ("-": the client went away first, 499);
  - where the backend sent a grpc-status, the record's grpc.status is that one, and a
    failed one behind an HTTP 200 is the backend's doing (failure_origin `upstream`);
    a 5xx after attempts that were all refused or timed out is nginx's own
    (failure_origin `gateway`);
NAME.haproxy.log ("%HM %HU %ST %si:%sp %rc %tsc": HAProxy logs only the last server):
  - the same status; the last attempt's address is the server HAProxy names, and
    `attempts` is its retry count + 1; no attempt when it names none (<NOSRV>);
  - a request HAProxy ended normally ("--") has the client's status on its last attempt;
  - failure_origin of a 5xx follows the termination state: `gateway` for a timeout (sH),
    a refused or failed connect (SC) and no server; `upstream` for a server abort (SH) or
    a status the server sent (--);
and for both:
  - with --format kong, upstream_uri is the client's target or its /api/ -> /v1/ swap
    (the attempt joined is the one the gateway made for this very request), and the
    service's protocol and upstream_url's scheme are grpc for a gRPC call, else http;
  - no upstream-leg record is published for an attempt that was joined, and the summary
    counts the joined attempts;
  - --gateway none turns the view off (no detection); with gateways that are in none of the
    connections, refused connects are published only with --connect-failures.
Usage: gateway_join.py --bin offpath --dir pcaps [--workers N]
"""
import argparse
import json
import os
import subprocess
import sys

METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


def run(binary, capture, workers, fmt="native"):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "-q", "--workers",
                          str(workers), "--format", fmt], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"offpath exited {out.returncode}: {out.stderr.decode()[-400:]}")
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    return [r for r in records if r.get("schema", "offpath/1") == "offpath/1"]


def nginx_log(path):
    lines = {}
    for line in open(path):
        method, uri, status, rest = line.split(" ", 3)
        # "$upstream_addr $upstream_status": two comma lists of the same length.
        parts = rest.replace(",", "").split()
        key = (method, uri)
        if parts and parts[-1].startswith("id="):
            key = ("id", parts.pop()[len("id="):])
        grpc = None
        if parts and parts[-1].startswith("grpc="):
            # $upstream_http_grpc_status$upstream_trailer_grpc_status: "-" for each absent.
            code = parts.pop()[len("grpc="):].replace("-", "")
            grpc = int(code) if code else None
        n = len(parts) // 2
        statuses = [None if s == "-" else int(s) for s in parts[n:]]
        lines[key] = {"status": int(status), "addrs": parts[:n], "statuses": statuses,
                      "grpc": grpc}
    return lines


def haproxy_log(path):
    lines = {}
    for line in open(path):
        parts = line.split()
        if len(parts) != 6 or parts[0] not in METHODS:
            continue  # HAProxy's own messages (a server going down)
        method, uri, status, server, retries, term = parts
        lines[(method, uri)] = {"status": int(status),
                                "last": None if server.startswith("-") else server,
                                "attempts": int(retries.lstrip("+")) + 1, "term": term}
    return lines


def check_nginx(key, r, want, problems):
    tries = (r["upstream"] or {}).get("tries", [])
    if [t["addr"] for t in tries] != want["addrs"]:
        problems.append(f"{key}: tries {[t['addr'] for t in tries]}, nginx {want['addrs']}")
        return
    for t, s in zip(tries, want["statuses"]):
        if not (t["status"] == s or (t["status"] is None and s in (None, 502, 504))):
            problems.append(f"{key}: try {t['addr']} status {t['status']}, nginx {s}")
    if r["upstream"] and r["upstream"]["attempts"] != len(want["addrs"]):
        problems.append(f"{key}: attempts {r['upstream']['attempts']}")
    grpc = (r.get("grpc") or {}).get("status")
    if want["grpc"] is not None:
        if grpc != want["grpc"]:
            problems.append(f"{key}: grpc.status {grpc}, the backend sent {want['grpc']}")
        if want["grpc"] != 0 and want["status"] == 200 and r.get("failure_origin") != "upstream":
            problems.append(f"{key}: failure_origin {r.get('failure_origin')} for the "
                            f"backend's grpc-status {want['grpc']}")
    elif (want["status"] >= 500 and tries and r.get("failure_origin") != "gateway" and
          all(t["outcome"] in ("connection_refused", "connect_timeout", "timeout")
              for t in tries)):
        # No backend answered (a refused connect, a timeout): nginx's own 502/504.
        problems.append(f"{key}: failure_origin {r.get('failure_origin')} for nginx's "
                        f"own {want['status']}")


def check_haproxy(key, r, want, problems):
    up = r["upstream"]
    status = want["status"]
    if want["last"] is None:
        if up is not None:
            problems.append(f"{key}: HAProxy had no server, got upstream {up}")
    elif up is None:
        problems.append(f"{key}: no upstream, HAProxy tried {want['last']}")
    else:
        if up["addr"] != want["last"]:
            problems.append(f"{key}: last attempt {up['addr']}, HAProxy {want['last']}")
        if up["attempts"] != want["attempts"]:
            problems.append(f"{key}: attempts {up['attempts']}, HAProxy {want['attempts']}")
        if want["term"].startswith("--") and up["status"] != status:
            problems.append(f"{key}: last attempt status {up['status']}, HAProxy {status}")
    if status >= 500:
        origin = "upstream" if want["term"][:2] in ("SH", "--") else "gateway"
        if r.get("failure_origin") != origin:
            problems.append(f"{key}: failure_origin {r.get('failure_origin')}, "
                            f"HAProxy {want['term']} says {origin}")


def key_of(record, log):
    """The log line's key for a record: its request id where the log has them."""
    if any(k[0] == "id" for k in log):
        return ("id", record.get("correlation_id"))
    return (record["request"]["method"], record["request"]["uri"])


def check(binary, capture, log, check_one, workers):
    problems = []
    records = run(binary, capture, workers)
    clients = [r for r in records if r.get("leg") == "client"]
    if len(clients) != len(log):
        problems.append(f"{len(clients)} client-leg records, the gateway logged {len(log)}")
    for r in clients:
        key = key_of(r, log)
        if key not in log:
            problems.append(f"{key}: not in the gateway's log")
            continue
        got = r["response"]["status"] if r["response"] else None
        want = log[key]
        # nginx logs 499 for a client that went away: there is no response on the wire.
        if got != want["status"] and not (got is None and want["status"] == 499):
            problems.append(f"{key}: status {got}, gateway {want['status']}")
        check_one(key, r, want, problems)
    joined = sum(len((r["upstream"] or {}).get("tries", [])) for r in clients)
    alone = [r for r in records if r.get("leg") == "upstream"]
    summary = subprocess.run([binary, "-r", capture, "--publish", "all", "--workers",
                              str(workers)], capture_output=True, timeout=120).stderr.decode()
    if f"joined_upstream={joined} " not in summary:
        problems.append(f"summary does not count the {joined} joined attempts")
    if alone and any(a["request"] is not None and key_of(a, log) in log for a in alone):
        problems.append(f"{len(alone)} upstream-leg records published alone")
    for r in run(binary, capture, workers, "kong"):
        if "upstream_uri" not in r:
            continue
        target = r["request"]["url"].split("://", 1)[1]
        target = target[target.index("/"):] if "/" in target else "/"
        if r["upstream_uri"] not in (target, target.replace("/api/", "/v1/", 1)):
            problems.append(f"kong: {target} joined to {r['upstream_uri']}")
        # A gRPC call went to a gRPC service.
        grpc = r["request"]["headers"].get("content-type", "").startswith("application/grpc")
        scheme = "grpc" if grpc else "http"
        if r["service"]["protocol"] != scheme or not r["upstream_url"].startswith(scheme + "://"):
            problems.append(f"kong: {target}: {r['upstream_url']} {r['service']}, not {scheme}")
    return problems, len(clients)


def check_view_switches(binary, capture):
    """--gateway none: no gateway view at all, not even the replay's own detection. A
    gateway address that is in none of the connections: no legs, and the refused connects
    the join follows for itself are published only with --connect-failures."""
    problems = []
    def records(*extra):
        out = subprocess.run([binary, "-r", capture, "--publish", "all", "-q", *extra],
                             capture_output=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.decode()[-400:])
        recs = [json.loads(line) for line in out.stdout.decode().splitlines()]
        return [r for r in recs if r["schema"] == "offpath/1"]
    none = records("--gateway", "none")
    if any("leg" in r or "upstream" in r for r in none):
        problems.append("--gateway none: records with gateway fields")
    if any(r["outcome"] == "connection_refused" for r in none):
        problems.append("--gateway none: refused connects published without --connect-failures")
    elsewhere = records("--gateway", "192.0.2.99")
    if any(r.get("leg") is not None for r in elsewhere):
        problems.append("--gateway 192.0.2.99: a record on a leg")
    refused = [r for r in elsewhere if r["outcome"] == "connection_refused"]
    if refused:
        problems.append(f"--gateway 192.0.2.99: {len(refused)} refused connects published unasked")
    asked = records("--gateway", "192.0.2.99", "--connect-failures")
    if not any(r["outcome"] == "connection_refused" for r in asked):
        problems.append("--gateway 192.0.2.99 --connect-failures: no refused connect published")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    kinds = {".nginx.log": (nginx_log, check_nginx), ".haproxy.log": (haproxy_log, check_haproxy)}
    captures = []
    for f in sorted(os.listdir(args.dir)):
        for suffix, (read, check_one) in kinds.items():
            if f.startswith("gateway-") and f.endswith(suffix):
                captures.append((f[:-len(suffix)], read(os.path.join(args.dir, f)), check_one))
    if not captures:
        print("no gateway captures")
        return 1
    failed = 0
    for name, log, check_one in captures:
        for workers in (1, args.workers):
            problems, n = check(args.bin, os.path.join(args.dir, name + ".pcap"), log, check_one,
                                workers)
            status = "FAIL" if problems else "ok  "
            print(f"{status} {name} --workers {workers}: {n} client-leg records")
            for p in problems[:20]:
                print("   ", p)
            failed += bool(problems)
    # The refused connects of this capture (its /down/ and /retry/ requests).
    problems = check_view_switches(args.bin, os.path.join(args.dir, "gateway-joined-timing.pcap"))
    print(f"{'FAIL' if problems else 'ok  '} --gateway none, and refused connects off the legs")
    for p in problems:
        print("   ", p)
    failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
