#!/usr/bin/python3
"""Checks the records of the live `drops` scenario (gateway_test.sh): clients sent
/PATH?c=C&i=I for C < CONNECTIONS and I < REQUESTS, each client one keep-alive
connection, one request at a time; nginx echoed each request's URI in X-Echo-Uri (client
leg, server port 8080) and proxied some to the backend, which echoed it in X-Backend-Uri
(upstream leg, port 8081); the capture dropped packets. Fails unless:
  - the kernel dropped packets (else nothing was tested),
  - no record of either leg pairs a request with a response that names another request,
  - every record that lacks a side, or has one cut short, carries `gap` (or, without a
    response, an outcome that says why none came),
  - every request that has no client-leg record shows in the records of its connection: lost
    between two recorded requests, a record from the one to the other carries `gap`;
    lost before the first, that first record carries `gap` or `mid_stream` (the capture
    missed the connection's start). Requests lost after a connection's last record leave
    nothing to mark there: the summary's kernel_drops counts them.
Usage: check_pairing.py RECORDS.jsonl SUMMARY.err CONNECTIONS REQUESTS
"""
import json
import re
import sys
from urllib.parse import parse_qs, urlsplit


def key_of(uri):
    q = parse_qs(urlsplit(uri).query)
    return int(q["c"][0]), int(q["i"][0])


def main():
    records_path, summary_path = sys.argv[1], sys.argv[2]
    connections, requests = int(sys.argv[3]), int(sys.argv[4])
    summary = open(summary_path, errors="replace").read()
    m = re.search(r"^offpath: capture kernel_drops=(\d+)", summary, re.M)
    drops = int(m.group(1)) if m else -1
    problems = []
    if drops <= 0:
        problems.append(f"no kernel drops (kernel_drops={drops}): the load did not overrun the ring")

    seen = set()
    conns = {}  # client port -> [(index in connection, request number or None, anomalies)]
    stats = {"records": 0, "upstream": 0, "paired": 0, "gap": 0, "no_response": 0,
             "orphans": 0, "wrong": 0}
    for line in open(records_path):
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec["schema"] != "offpath/1":
            continue  # the coverage ledger's records
        stats["records"] += 1
        req, resp = rec["request"], rec["response"]
        anomalies = set(rec["anomalies"])
        gap = "gap" in anomalies
        port = rec["client"]["port"]
        upstream = rec["server"]["port"] == 8081
        echo_header = "x-backend-uri" if upstream else "x-echo-uri"
        stats["upstream"] += upstream
        stats["gap"] += gap
        if req is None and resp is None:
            problems.append(f"record with neither request nor response: {line.strip()[:200]}")
            continue
        number = None
        if req is not None and "c=" in req["uri"] and not upstream:
            k = key_of(req["uri"])
            seen.add(k)
            number = k[1]
        if not upstream:
            conns.setdefault(port, []).append((rec["connection"]["index"], number, anomalies))
        if req is not None and resp is not None:
            stats["paired"] += 1
            echo = resp["headers"].get(echo_header)
            # On the client leg both nginx and the backend echo the URI (the backend's
            # passes through), joined into one value: every one must name this request.
            if echo is None or any(e != req["uri"] for e in echo.split(", ")):
                stats["wrong"] += 1
                problems.append(f"{req['uri']} paired with the response to {echo} "
                                f"(anomalies {sorted(anomalies)})")
        if req is None:
            stats["orphans"] += 1
            if not gap and "mid_stream" not in anomalies:
                problems.append(f"orphan response without gap: {resp['headers'].get(echo_header)}")
        elif resp is None:
            stats["no_response"] += 1
            if not gap and rec["outcome"] == "complete":
                problems.append(f"{req['uri']} without a response, outcome complete, no gap")
        if ({"request_incomplete", "response_incomplete"} & anomalies) and not gap:
            problems.append(f"{req and req['uri']} incomplete without gap: {sorted(anomalies)}")

    missing = [(c, i) for c in range(connections) for i in range(requests) if (c, i) not in seen]
    for port, recs in conns.items():
        recs.sort(key=lambda r: r[0])
        numbered = [(pos, r[1]) for pos, r in enumerate(recs) if r[1] is not None]
        if numbered and numbered[0][1] > 0 and not ({"gap", "mid_stream"} & recs[0][2]):
            problems.append(f"port {port}: requests before #{numbered[0][1]} lost, first record unmarked")
        for (pa, a), (pb, b) in zip(numbered, numbered[1:]):
            if b > a + 1 and not any("gap" in r[2] for r in recs[pa:pb + 1]):
                problems.append(f"port {port}: requests #{a + 1}-#{b - 1} lost without a gap record")
    print(f"kernel_drops={drops} requests_sent={connections * requests} "
          f"requests_recorded={len(seen)} missing={len(missing)} " +
          " ".join(f"{k}={v}" for k, v in stats.items()))
    for p in problems[:20]:
        print("FAIL:", p)
    if len(problems) > 20:
        print(f"... and {len(problems) - 20} more")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
