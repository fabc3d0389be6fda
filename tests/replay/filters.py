#!/usr/bin/python3
"""Replay tests for the command-line filters and the failure classification flags
(docs/filters.md): each case replays one bundled capture with some flags and compares
the exchanges offpath prints with an exact expectation. Expectations name exchanges by
their position in the capture's NAME.expected.jsonl (so a re-recording with new ports
changes nothing here) and give the error_type each must have (None = not failed).
Cases about latency and sampling derive their expectation from the unfiltered replay's
own numbers and from the documented sampling hash, so they stay exact.
Usage: filters.py --bin offpath --dir pcaps [-k SUBSTRING]
"""
import argparse
import json
import os
import subprocess
import sys

MASK = (1 << 64) - 1


def conn_of(rec):
    def ep(e):
        ip = e["ip"]
        return f"[{ip}]:{e['port']}" if ":" in ip else f"{ip}:{e['port']}"
    return f"{ep(rec['client'])}-{ep(rec['server'])}"


class Runner:
    def __init__(self, binary, pcaps):
        self.bin = binary
        self.dir = pcaps

    def run(self, args, pcap=None, quiet=True):
        cmd = [self.bin] + (["-r", os.path.join(self.dir, pcap + ".pcap")] if pcap else [])
        cmd += (["-q"] if quiet else []) + args
        return subprocess.run(cmd, capture_output=True, timeout=120, text=True)

    def records(self, pcap, args):
        out = self.run(args, pcap)
        if out.returncode != 0:
            raise AssertionError(f"offpath exited {out.returncode}: {out.stderr.strip()}")
        records = [json.loads(line) for line in out.stdout.splitlines()]
        return [r for r in records if r.get("schema") != "offpath/coverage/1"]

    def expected_rows(self, pcap, suffix=".expected.jsonl"):
        with open(os.path.join(self.dir, pcap + suffix)) as f:
            return [json.loads(line) for line in f if line.strip()]


def row(rec):
    req, resp = rec["request"], rec["response"]
    return (conn_of(rec), req["method"] if req else None, req["uri"] if req else None,
            resp["status"] if resp else None, rec["outcome"], rec["error_type"], rec["failed"])


def want(expected, index, error_type):
    e = expected[index]
    return (e["conn"], e["method"], e["uri"], e["status"], e["outcome"], error_type,
            error_type is not None)


def sample_point(rec):
    """sample_point() of src/filter/exchange_filter.cpp, from the record's connection id
    and index."""
    h = int(rec["connection"]["id"], 16) ^ ((0x9e3779b97f4a7c15 * (rec["connection"]["index"] + 1)) & MASK)
    h = (h + 0x9e3779b97f4a7c15) & MASK
    h = ((h ^ (h >> 30)) * 0xbf58476d1ce4e5b9) & MASK
    h = ((h ^ (h >> 27)) * 0x94d049bb133111eb) & MASK
    h ^= h >> 31
    return (h >> 11) / 9007199254740992.0


# (description, capture, flags, [(index in NAME.expected.jsonl, error_type), ...])
S = "status-404-500"    # 0: 404, 1: 500
R = "reset-connection"  # 0: 200, 1: reset (same connection), 2: reset (another one)
FAILED_S = [(0, "client_error"), (1, "server_error")]
FAILED_R = [(1, "backend_unavailable"), (2, "backend_unavailable")]
ALL_R = [(0, None)] + FAILED_R
G = "gateway-grpc"
FAILED_G = [(7, "client_error"), (8, "backend_unavailable"), (9, "backend_unavailable")]
ALL_G = [(i, None) for i in range(7)] + FAILED_G
CASES = [
    # --- default classification, no filter
    ("no flags: the failed ones", S, [], FAILED_S),
    ("no flags: resets are failed", R, [], FAILED_R),
    ("no flags, --publish all", R, ["--publish", "all"], ALL_R),
    # --- --method
    ("--method POST", "post-body", ["--publish", "all", "--method", "POST"], [(0, None), (1, None)]),
    ("--method GET leaves out HEAD", "head-request", ["--publish", "all", "--method", "GET"], [(1, None)]),
    ("--method head (any case)", "head-request", ["--publish", "all", "--method", "head"], [(0, None)]),
    ("--method comma list", "head-request", ["--publish", "all", "--method", "PUT,HEAD"], [(0, None)]),
    ("--method repeated", "head-request", ["--publish", "all", "--method", "GET", "--method", "HEAD"],
     [(0, None), (1, None)]),
    ("--method none matching", "post-body", ["--publish", "all", "--method", "GET"], []),
    ("--method on requests without a response", R, ["--publish", "all", "--method", "GET"], ALL_R),
    # --- --host (curl sends Host: 10.231.0.2:8080; the port is ignored)
    ("--host exact", "keepalive-get", ["--publish", "all", "--host", "10.231.0.2"],
     [(0, None), (1, None), (2, None)]),
    ("--host with another name", "keepalive-get", ["--publish", "all", "--host", "api.example.com"], []),
    ("--host wildcard", "keepalive-get", ["--publish", "all", "--host", "*.example.com"], []),
    # --- --path, --path-regex
    ("--path prefix", "keepalive-get", ["--publish", "all", "--path", "/api"], [(2, None)]),
    ("--path prefix stops at the query", "keepalive-get", ["--publish", "all", "--path", "/api/items?"], []),
    ("--path glob", "keepalive-get", ["--publish", "all", "--path", "/*.css"], [(1, None)]),
    ("--path glob ? and []", "keepalive-get", ["--publish", "all", "--path", "/[is]*.?tml"], [(0, None)]),
    ("--path repeated", "keepalive-get", ["--publish", "all", "--path", "/style", "--path", "/api/*"],
     [(1, None), (2, None)]),
    ("--path-regex", "keepalive-get", ["--publish", "all", "--path-regex", r"\.(html|css)$"],
     [(0, None), (1, None)]),
    ("--path-regex sees the path only", "keepalive-get", ["--publish", "all", "--path-regex", "^/api/items$"],
     [(2, None)]),
    ("--path AND --path-regex", "keepalive-get",
     ["--publish", "all", "--path", "/api", "--path-regex", "css"], []),
    # --- --status
    ("--status class", S, ["--status", "5xx"], [(1, "server_error")]),
    ("--status code", S, ["--status", "404"], [(0, "client_error")]),
    ("--status list", S, ["--status", "404,500-599"], [(0, "client_error"), (1, "server_error")]),
    ("--status range of successes", R, ["--publish", "all", "--status", "200-299"], [(0, None)]),
    ("--status never matches without a response", R, ["--publish", "all", "--status", "100-599"], [(0, None)]),
    ("--status 502 through nginx", "nginx-502", ["--status", "502"], [(1, "backend_unavailable")]),
    # --- --client, --server
    ("--server IPv6 network", "ipv6-get", ["--publish", "all", "--server", "fd00:231::/32"],
     [(0, None), (1, None)]),
    ("--client IPv4 network on IPv6 traffic", "ipv6-get", ["--publish", "all", "--client", "10.0.0.0/8"], []),
    ("--client exact address", "ipv6-get", ["--publish", "all", "--client", "fd00:231::1"],
     [(0, None), (1, None)]),
    ("--server address", "nginx-502", ["--publish", "all", "--server", "10.231.0.2"],
     [(0, None), (1, "backend_unavailable")]),
    ("--server other address", "nginx-502", ["--publish", "all", "--server", "10.231.0.3,fd00::/8"], []),
    # --- --header
    ("--header present (request)", "keepalive-get", ["--publish", "all", "--header", "user-agent"],
     [(0, None), (1, None), (2, None)]),
    ("--header absent", "keepalive-get", ["--publish", "all", "--header", "X-Not-There"], []),
    ("--header value (response)", "keepalive-get", ["--publish", "all", "--header", "Content-Type=text/css"],
     [(1, None)]),
    # --- AND across flags
    ("--method AND --status", S, ["--method", "GET", "--status", "5xx"], [(1, "server_error")]),
    ("--method AND --path", R, ["--publish", "all", "--method", "GET", "--path", "/reset"], FAILED_R),
    ("--path AND --status", S, ["--path", "/api", "--status", "4xx"], []),
    # --- --sample with failures kept
    ("--sample 0 keeps every failure", R, ["--publish", "all", "--sample", "0"], FAILED_R),
    ("--sample 1 keeps everything", R, ["--publish", "all", "--sample", "1"], ALL_R),
    ("--sample with --publish failed changes nothing", R, ["--sample", "0"], FAILED_R),
    # --- classification
    ("--failed-status 500", S, ["--failed-status", "500"], [(1, "server_error")]),
    ("--failed-status 500, --publish all", S, ["--publish", "all", "--failed-status", "500"],
     [(0, None), (1, "server_error")]),
    ("--failed-status 4xx,5xx", S, ["--failed-status", "4xx,5xx"], FAILED_S),
    ("--failed-status repeated", S, ["--failed-status", "404", "--failed-status", "501-599"],
     [(0, "client_error")]),
    ("--failed-status 200 marks a success failed", R, ["--failed-status", "200", "--failed-outcomes", "none"],
     [(0, "client_error")]),
    ("--failed-outcomes leaves resets out", R, ["--failed-outcomes", "connection_closed,timeout"], []),
    ("--failed-outcomes connection_reset", R, ["--failed-outcomes", "connection_reset"], FAILED_R),
    ("--failed-outcomes none, --publish all", R, ["--publish", "all", "--failed-outcomes", "none"],
     [(0, None), (1, None), (2, None)]),
    ("--failed-outcomes does not touch statuses", S, ["--failed-outcomes", "none"], FAILED_S),
    ("capture-ended counts by default", "capture-ended", [], None),  # filled in below
    # --- capture level (-f, --port) on replays
    ("-f matching", "nginx-502", ["--publish", "all", "-f", "tcp port 80"], [(0, None), (1, "backend_unavailable")]),
    ("-f not matching", "keepalive-get", ["--publish", "all", "-f", "tcp port 80"], []),
    ("-f host", "keepalive-get", ["--publish", "all", "-f", "host 10.231.0.2"], [(0, None), (1, None), (2, None)]),
    ("--port matching", "keepalive-get", ["--publish", "all", "--port", "8080"], [(0, None), (1, None), (2, None)]),
    ("--port list", "nginx-502", ["--publish", "all", "--port", "8080,80"], [(0, None), (1, "backend_unavailable")]),
    ("--port not matching", "keepalive-get", ["--publish", "all", "--port", "80"], []),
    ("-f AND --port", "keepalive-get", ["--publish", "all", "-f", "host 10.231.0.2", "--port", "80"], []),
    # --- HTTP/2 and gRPC (gateway-grpc, client legs through nginx: 0 GetItem, 1-6 Part2,
    # Part1, Part4, Part3, Part6, Part5 (six streams at once), 7 Lookup NOT_FOUND and
    # 8 Slow DEADLINE_EXCEEDED behind a 200, 9 Ping nginx's 502; h2c-nginx: 3 a 404)
    ("h2: no flags: the failed ones", G, [], FAILED_G),
    ("h2: --status 200 keeps gRPC failures behind a 200", G, ["--status", "200"], FAILED_G[:2]),
    ("h2: --status 5xx", G, ["--status", "5xx"], FAILED_G[2:]),
    ("h2: --status 2xx, --publish all", G, ["--publish", "all", "--status", "2xx"], ALL_G[:9]),
    ("h2: --grpc-failed-codes by name", G,
     ["--grpc-failed-codes", "UNAVAILABLE,deadline_exceeded"], FAILED_G[1:]),
    ("h2: --grpc-failed-codes by number", G, ["--grpc-failed-codes", "5"],
     [FAILED_G[0], FAILED_G[2]]),
    ("h2: --grpc-failed-codes none", G, ["--grpc-failed-codes", "none"], FAILED_G[2:]),
    ("h2: --grpc-failed-codes none, --publish all", G,
     ["--publish", "all", "--grpc-failed-codes", "none"], ALL_G[:7] + [(7, None), (8, None)]
     + FAILED_G[2:]),
    ("h2: --failed-status leaves gRPC codes alone", G, ["--failed-status", "500"], FAILED_G[:2]),
    ("h2: --method POST", G, ["--publish", "all", "--method", "POST"], ALL_G),
    ("h2: --method GET", G, ["--publish", "all", "--method", "GET"], []),
    ("h2: --path glob on gRPC methods", G,
     ["--publish", "all", "--path", "/offpath.test.Catalog/Part*"], ALL_G[1:7]),
    ("h2: --path-regex", G, ["--path-regex", "/(Lookup|Ping)$"], [FAILED_G[0], FAILED_G[2]]),
    ("h2: --host from :authority", G, ["--publish", "all", "--host", "10.232.0.2"], ALL_G),
    ("h2: --header on a gRPC request", G,
     ["--publish", "all", "--header", "content-type=application/grpc", "--path", "/*/Ping"],
     ALL_G[9:]),
    ("h2: --header value in the response trailers", G,
     ["--publish", "all", "--header", "grpc-status=0"], ALL_G[:7]),
    ("h2: --header value in a trailers-only response", G,
     ["--publish", "all", "--header", "grpc-status=5"], ALL_G[7:8]),
    ("h2: --status AND --method AND --path", G,
     ["--status", "200", "--method", "POST", "--path", "/offpath.test.Catalog/Slow"],
     FAILED_G[1:2]),
    ("h2c: --status 404", "h2c-nginx", ["--status", "404"], [(3, "client_error")]),
    ("h2c: --path, --publish all", "h2c-nginx", ["--publish", "all", "--path", "/api"],
     [(1, None)]),
    # --- connect failures: nothing without the flag
    ("connect-refused without --connect-failures", "connect-refused", ["--publish", "all"], []),
    ("connect-timeout without --connect-failures", "connect-timeout", ["--publish", "all"], []),
    ("--connect-failures on ordinary traffic", R, ["--connect-failures"], FAILED_R),
]


def check_rows(r, name, pcap, args, expect):
    expected = r.expected_rows(pcap)
    got = [row(rec) for rec in r.records(pcap, args)]
    wanted = [want(expected, i, et) for i, et in expect]
    if got == wanted:
        return True
    print(f"FAIL {name}: offpath {' '.join(args)} -r {pcap}")
    for i in range(max(len(got), len(wanted))):
        g = got[i] if i < len(got) else None
        w = wanted[i] if i < len(wanted) else None
        if g != w:
            print(f"  #{i}: expected {w}\n       offpath  {g}")
    return False


def latency_cases(r):
    """--min-latency and --slow with thresholds at the capture's own latencies."""
    pcap = "keepalive-get"
    recs = r.records(pcap, ["--publish", "all"])
    lat = [rec["timing"]["latency_ms"] for rec in recs]
    assert all(x is not None for x in lat), lat
    order = sorted(range(len(lat)), key=lambda i: lat[i])
    mid = lat[order[1]]
    cases = []
    # At least mid: the two slowest (ties included).
    cases.append(("--min-latency at the median", pcap, ["--publish", "all", "--min-latency", repr(mid)],
                  [(i, None) for i in range(len(lat)) if lat[i] >= mid]))
    cases.append(("--min-latency above all", pcap, ["--publish", "all", "--min-latency", repr(max(lat) + 1)], []))
    # Slower than mid: failed with error_type slow; the others not failed.
    cases.append(("--slow at the median", pcap, ["--slow", repr(mid)],
                  [(i, "slow") for i in range(len(lat)) if lat[i] > mid]))
    cases.append(("--slow, --publish all", pcap, ["--publish", "all", "--slow", repr(mid)],
                  [(i, "slow" if lat[i] > mid else None) for i in range(len(lat))]))
    cases.append(("--slow 0 is no limit", pcap, ["--slow", "0"], []))
    # A failed status keeps its own error_type even when slow.
    cases.append(("--slow does not hide a status", S, ["--slow", "0.001"], FAILED_S))
    cases.append(("--slow does not hide a reset", R, ["--publish", "all", "--slow", "0.001"],
                  [(0, "slow")] + FAILED_R))
    return cases


def sample_cases(r):
    cases = []
    for pcap in ("keepalive-get", "pipelined", R, S):
        recs = r.records(pcap, ["--publish", "all"])
        for rate in ("0.3", "0.5", "0.8"):
            exp = [(i, rec["error_type"]) for i, rec in enumerate(recs)
                   if rec["failed"] or sample_point(rec) < float(rate)]
            cases.append((f"--sample {rate} on {pcap}", pcap, ["--publish", "all", "--sample", rate], exp))
    return cases


def check_connect_failures(r):
    ok = True
    for pcap, outcome in (("connect-refused", "connection_refused"), ("connect-timeout", "connect_timeout")):
        expected = r.expected_rows(pcap, ".connect-failures.jsonl")
        for flags in (["--connect-failures"], ["--connect-failures", "--publish", "all"],
                      ["--connect-failures", "--response-timeout", "2"]):
            recs = r.records(pcap, flags)
            got = [(conn_of(x), x["request"], x["response"], x["status"] if "status" in x else None,
                    x["outcome"], x["error_type"], x["failed"]) for x in recs]
            wanted = [(e["conn"], None, None, None, e["outcome"], "backend_unavailable", True) for e in expected]
            if got != wanted or len(wanted) != 1 or wanted[0][4] != outcome:
                print(f"FAIL connect failures {pcap} {flags}:\n  expected {wanted}\n  offpath  {got}")
                ok = False
        # Not counted as failed when --failed-outcomes leaves the outcome out.
        recs = r.records(pcap, ["--connect-failures", "--failed-outcomes", "connection_reset"])
        if recs:
            print(f"FAIL {pcap}: --failed-outcomes connection_reset still published {recs}")
            ok = False
        recs = r.records(pcap, ["--connect-failures", "--publish", "all", "--failed-outcomes", "none"])
        if [(x["outcome"], x["failed"], x["error_type"]) for x in recs] != [(outcome, False, None)]:
            print(f"FAIL {pcap}: --failed-outcomes none: {recs}")
            ok = False
        # Exchange-less events have no method: a --method filter leaves them out.
        if r.records(pcap, ["--connect-failures", "--method", "GET"]):
            print(f"FAIL {pcap}: --method GET kept a connect failure")
            ok = False
        if r.records(pcap, ["--connect-failures", "--server", "10.0.0.0/8"]) == []:
            print(f"FAIL {pcap}: --server 10.0.0.0/8 left the connect failure out")
            ok = False
    # A single timed-out attempt, the detail says why.
    rec = r.records("connect-timeout", ["--connect-failures"])[0]
    if not rec.get("error_detail", "").startswith("no SYN-ACK after 4 SYNs"):
        print(f"FAIL connect-timeout error_detail: {rec.get('error_detail')}")
        ok = False
    return ok


BAD = [
    (["--status", "abc"], "offpath: error: --status: expected a status code (404), a range (500-599) "
                          "or a class (5xx), got 'abc'"),
    (["--failed-status", "6xx-"], "offpath: error: --failed-status: expected a status code (404), a "
                                  "range (500-599) or a class (5xx), got '6xx-'"),
    (["--client", "10.0.0.0/99"], "offpath: error: --client: prefix length of '10.0.0.0/99' must be 0-32"),
    (["--server", "nope"], "offpath: error: --server: expected an IPv4 or IPv6 address or network "
                           "(10.0.0.0/8, fd00::/16), got 'nope'"),
    (["--sample", "2"], "offpath: error: --sample: expected a rate between 0 and 1 (0.1 keeps 10% of successes)"),
    (["--slow", "-1"], "offpath: error: --slow: expected a number of milliseconds >= 0"),
    (["--min-latency", "-3"], "offpath: error: --min-latency: expected a number of milliseconds >= 0"),
    (["--path", "api"], "offpath: error: --path: expected a path starting with '/' (a prefix, or a glob "
                        "with * ? [ ]), got 'api'"),
    (["--host", "a/b"], "offpath: error: --host: expected a host name (api.example.com) or a wildcard "
                        "(*.example.com), got 'a/b'"),
    (["--header", "bad name=1"], "offpath: error: --header: expected NAME or NAME=VALUE with a header "
                                 "name (X-Request-Id), got 'bad name=1'"),
    (["--method", "G T"], "offpath: error: --method: expected HTTP method names (GET,POST), got 'G T'"),
    (["--failed-outcomes", "complete"], "offpath: error: --failed-outcomes: expected outcomes among "
     "connection_reset, connection_closed, capture_ended, timeout, evicted, parse_error, "
     "connection_refused, connect_timeout, stream_reset, goaway, got 'complete' (or none)"),
    (["--path-regex", "(x"], "offpath: error: --path-regex: expected an ECMAScript regular expression, got '(x' ("),
    (["-f", "tcp port"], "offpath: error: -f: expected a pcap-filter expression (as for tcpdump), got 'tcp port': "),
    (["--min-latency", "abc"], "--min-latency"),
    (["--sample", "x"], "--sample"),
]


def check_bad_flags(r):
    ok = True
    for args, message in BAD:
        out = r.run(args, "keepalive-get")
        lines = out.stderr.strip().splitlines()
        if out.returncode != 2 or out.stdout or len(lines) != 1 or message not in lines[0] \
                or (message.startswith("offpath:") and not lines[0].startswith(message)):
            print(f"FAIL bad flag {args}: exit {out.returncode}, stderr {out.stderr!r}, expected {message!r}")
            ok = False
    return ok


def check_summary_and_help(r):
    ok = True
    out = r.run(["--publish", "all", "--method", "POST"], "keepalive-get", quiet=False)
    if out.returncode != 0 or " published=0 filtered=3 " not in out.stderr:
        print(f"FAIL summary filtered=3: {out.stderr}")
        ok = False
    out = r.run(["--publish", "all", "--sample", "0"], "keepalive-get", quiet=False)
    if " published=0 filtered=0 sampled_out=3 " not in out.stderr:
        print(f"FAIL summary sampled_out=3: {out.stderr}")
        ok = False
    out = r.run(["--port", "80"], "keepalive-get", quiet=False)
    if "offpath: packets=0 " not in out.stderr:
        print(f"FAIL --port 80 should leave no packet: {out.stderr}")
        ok = False
    helptext = r.run(["--help"]).stdout
    for flag in ("--method", "--host", "--path", "--path-regex", "--status", "--client", "--server",
                 "--min-latency", "--header", "--sample", "--failed-status", "--slow",
                 "--failed-outcomes", "--connect-failures", "-f,", "--port"):
        if flag not in helptext:
            print(f"FAIL --help does not list {flag}")
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    r = Runner(args.bin, args.dir)

    cases = [c for c in CASES if c[3] is not None]
    n_capture_ended = len(r.expected_rows("capture-ended"))
    cases.append(("capture-ended counts by default", "capture-ended", [],
                  [(i, "backend_unavailable") for i in range(n_capture_ended)
                   if r.expected_rows("capture-ended")[i]["status"] is None]))
    cases.append(("--failed-outcomes without capture_ended", "capture-ended",
                  ["--failed-outcomes", "connection_reset"], []))
    cases += latency_cases(r) + sample_cases(r)

    passed = failed = 0
    for name, pcap, flags, expect in cases:
        if args.k and args.k not in name:
            continue
        try:
            good = check_rows(r, name, pcap, flags, expect)
        except (AssertionError, IndexError) as e:
            print(f"FAIL {name}: {e}")
            good = False
        if good:
            print(f"ok   {name}")
        passed += good
        failed += not good
    for name, check in (("connect failures", check_connect_failures), ("bad flags", check_bad_flags),
                        ("summary and --help", check_summary_and_help)):
        if args.k and args.k not in name:
            continue
        good = check(r)
        print(f"{'ok  ' if good else 'FAIL'} {name}")
        passed += good
        failed += not good
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
