#!/usr/bin/python3
"""Writes pcaps/NAME.expected.jsonl for an HTTP/2 capture from offpath's records, only
when they agree with tshark's view of the capture (pcaps/NAME.h2streams.txt, written
by h2streams.py when the capture was recorded).

Usage: h2expected.py --bin OFFPATH PCAP [--write]

Per connection, offpath's exchanges must be tshark's streams, as multisets (offpath
emits a stream when it ends, not in stream-id order): method, path (offpath's uri),
final status and grpc-status (also for a stream the client reset: what the server sent
after the reset, as in grpc-deadline, is part of its record); every record must say
request.version "2"; a stream the server ended must be "complete", one reset or never
answered (as above a GOAWAY's last stream id) must not be.
On a connection upgraded from HTTP/1.1 (tshark's HTTP dissector reads a 101 on it), the
101 is no record of its own: stream 1's record is the request tshark reads answered by
the 101 (sent as HTTP/1.1: request.version "1.1"), with 101 in its interim_statuses.
Each difference is printed and the exit status is 1. With --write and no difference,
the expected rows (connection, method, URI, status, outcome, anomalies, failed,
grpc_status) go to stdout in offpath's order, for replay_pcaps.py.
"""

import argparse
import collections
import json
import os
import subprocess
import sys

from expected import tshark_view


def null(field):
    return None if field == "-" else field


def tshark_streams(listing):
    """{conn: [(method, path, status, grpc_status, end)]} from an h2streams.txt file."""
    conns, streams = [], collections.defaultdict(list)
    for line in open(listing):
        f = line.split()
        if f and f[0] == "conn":
            conns.append(f[2])
        elif f and f[0] == "stream":
            _, idx, _sid, method, path, status, grpc, end = f
            streams[conns[int(idx)]].append(
                (null(method), null(path), int(status) if status != "-" else None,
                 int(grpc) if grpc != "-" else None, end))
    return conns, streams


def conn_of(rec):
    def ep(e):
        return f"[{e['ip']}]:{e['port']}" if ":" in e["ip"] else f"{e['ip']}:{e['port']}"
    return f"{ep(rec['client'])}-{ep(rec['server'])}"


def offpath_records(binary, pcap):
    out = subprocess.run([binary, "-r", pcap, "--publish", "all", "--workers", "1"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [r for r in map(json.loads, out.splitlines()) if r.get("schema") == "offpath/1"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--write", action="store_true")
    p.add_argument("pcap")
    a = p.parse_args()
    listing = os.path.splitext(a.pcap)[0] + ".h2streams.txt"
    conns, want = tshark_streams(listing)
    recs = offpath_records(a.bin, a.pcap)
    got = collections.defaultdict(list)
    diffs = []
    upgraded = {}  # connection -> tshark's HTTP/1.1 request answered 101 on it
    if b"Upgrade: h2c" in open(a.pcap, "rb").read():
        port = int(open(listing).readline().split("(server port ")[1].split(")")[0])
        for conn, (reqs, finals) in tshark_view(a.pcap, port).items():
            if 101 in finals and reqs:
                upgraded[conn] = reqs[0]
    switches = collections.Counter()
    for r in recs:
        req, resp = r["request"] or {}, r["response"] or {}
        conn = conn_of(r)
        if resp.get("status") == 101:
            diffs.append(f"{conn}: a 101 record for {req.get('method')} {req.get('uri')}: "
                         f"the 101 belongs in stream 1's record")
            continue
        grpc = (r.get("grpc") or {}).get("status")
        got[conn].append((req.get("method"), req.get("uri"), resp.get("status"), grpc,
                          r["outcome"]))
        if conn in upgraded and (req.get("method"), req.get("uri")) == upgraded[conn] and \
                req.get("version") == "1.1":
            switches[conn] += 1  # the upgraded request (stream 1) was sent as HTTP/1.1
            if 101 not in r.get("interim_statuses", []):
                diffs.append(f"{conn}: stream 1's record lacks the 101 in interim_statuses")
            continue
        if req.get("version") != "2":
            diffs.append(f"{conn_of(r)} {req.get('method')} {req.get('uri')}: request.version "
                         f"{req.get('version')!r}, want \"2\"")
    for conn in sorted(upgraded):
        if switches[conn] != 1:
            diffs.append(f"{conn}: tshark reads a 101 for {upgraded[conn]}, offpath has "
                         f"{switches[conn]} HTTP/1.1 record(s) of it")
    for conn in sorted(set(got) | set(want)):
        if conn not in conns:
            diffs.append(f"{conn}: offpath reports a connection tshark's listing does not have")
        g = collections.Counter(x[:4] for x in got[conn])
        w = collections.Counter(x[:4] for x in want[conn])
        for k in sorted((g - w).elements(), key=str):
            diffs.append(f"{conn}: offpath has, tshark lacks: {k}")
        for k in sorted((w - g).elements(), key=str):
            diffs.append(f"{conn}: tshark has, offpath lacks: {k}")
        ends = {x[:2]: x[4] for x in want[conn]}
        for x in got[conn]:
            end = ends.get(x[:2])
            if end == "end" and x[4] != "complete":
                diffs.append(f"{conn}: {x[:4]}: the server ended the stream, outcome {x[4]}")
            if end and end != "end" and x[4] == "complete":
                diffs.append(f"{conn}: {x[:4]}: not ended by the server ({end}), outcome complete")
    name = os.path.basename(a.pcap)
    for d in diffs:
        print(f"{name}: {d}", file=sys.stderr)
    print(f"{name}: {len(recs)} record(s), {sum(len(v) for v in want.values())} tshark stream(s), "
          f"{len(diffs)} difference(s)", file=sys.stderr)
    if diffs:
        return 1
    if a.write:
        for r in recs:
            req, resp = r["request"] or {}, r["response"] or {}
            print(json.dumps({"conn": conn_of(r), "method": req.get("method"), "uri": req.get("uri"),
                              "status": resp.get("status"), "outcome": r["outcome"],
                              "anomalies": sorted(r["anomalies"]), "failed": r["failed"],
                              "grpc_status": (r.get("grpc") or {}).get("status")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
