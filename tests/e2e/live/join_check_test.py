#!/usr/bin/env python3
"""Tests of join_check.py on small constructed gateway logs and records (no root, no
network): a run that agrees passes, and each kind of disagreement fails it.
Usage: join_check_test.py"""
import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "join_check.py")
A, B, CLOSED = "198.51.100.2:8081", "198.51.100.3:8081", "198.51.100.2:8089"

# (uri, status, tries [(addr, logged status, connected, answered)], expected origin)
NGINX_CASES = [
    ("/ok?n=0-1", 200, [(A, 200, True, True)], None),
    ("/v1/ok?n=0-2", 200, [(B, 200, True, True)], None),
    ("/retry/ok?n=0-3", 200, [(CLOSED, 502, False, False), (B, 200, True, True)], None),
    ("/closed/ok?n=0-4", 502, [(CLOSED, 502, False, False)], "gateway"),
    ("/slow?n=0-5", 504, [(A, 504, True, False)], "gateway"),
    ("/reset-head?n=0-6", 502, [(A, 502, True, False), (B, 502, True, False)], "upstream"),
    ("/unavail?n=0-7", 503, [(B, 503, True, True)], "upstream"),
]
# (uri, status, server addr or None, retries, Tr, termination state, expected origin)
HAPROXY_CASES = [
    ("/ok?n=1-1", 200, A, "0", 1, "----", None),
    ("/retry/ok?n=1-2", 200, B, "+1", 1, "----", None),
    ("/closed/ok?n=1-3", 503, None, "0", -1, "SC--", "gateway"),
    ("/slow?n=1-4", 504, A, "0", -1, "sH--", "gateway"),
    ("/reset-head?n=1-5", 502, B, "0", -1, "SH--", "upstream"),
    ("/unavail?n=1-6", 503, A, "0", 1, "----", "upstream"),
]


def nginx_line(i, uri, status, tries):
    def field(values):
        return ", ".join(values) if tries else "-"
    addrs = field([t[0] for t in tries])
    statuses = field([str(t[1]) for t in tries])
    times = field(["0.001" for _ in tries])
    connects = field(["0.000" if t[2] else "-" for t in tries])
    headers = field(["0.001" if t[3] else "-" for t in tries])
    return (f'{1000 + i * 0.001:.3f} 0.000 192.0.2.1:{40000 + i} id{i} "GET {uri}" {status} '
            f'"{addrs}" "{statuses}" "{times}" "{connects}" "{headers}"')


def haproxy_line(i, uri, status, server, rc, tr, tsc):
    name, addr = ("<NOSRV>", "-:-") if server is None else ("s", server)
    return (f'{1000 + i * 0.001:.3f} 192.0.2.1:{40000 + i} id{i} "GET {uri}" {status} "be" '
            f'"{name}" "{addr}" {rc} {tr} {tr} {tsc}')


def endpoint(addr):
    ip, port = addr.rsplit(":", 1)
    return {"ip": ip, "port": int(port)}


def record(i, uri, server, status, t):
    return {"schema": "offpath/1", "outcome": "complete" if status else "connection_reset",
            "client": endpoint(f"192.0.2.1:{40000 + i}" if server.endswith(":8080")
                               else f"198.51.100.1:{50000 + i}"),
            "server": endpoint(server),
            "request": {"method": "GET", "uri": uri, "path": uri.split("?")[0],
                        "headers": {"x-request-id": f"id{i}"}},
            "response": {"status": status} if status else None,
            "timing": {"request_start": t}}


def nginx_run(joined):
    log, recs = [], []
    for i, (uri, status, tries, origin) in enumerate(NGINX_CASES):
        log.append(nginx_line(i, uri, status, tries))
        client = record(i, uri, "192.0.2.2:8080", status, 1000 + i)
        if joined:
            ts = [{"addr": a, "status": st if ans else None, "outcome": "complete", "latency_ms": 1}
                  for a, st, _c, ans in tries]
            client["leg"] = "client"
            client["upstream"] = dict(ts[-1], attempts=len(ts), tries=ts, ttfb_ms=1)
            client["failure_origin"] = origin
        else:
            for k, (addr, st, connected, answered) in enumerate(tries):
                if connected:
                    recs.append(record(i, uri, addr, st if answered else None, 1000 + i + k / 10))
                else:
                    recs.append({"schema": "offpath/1", "outcome": "connection_refused",
                                 "server": endpoint(addr), "request": None, "response": None})
        recs.append(client)
    return log, recs


def haproxy_run(joined):
    log, recs = [], []
    for i, (uri, status, server, rc, tr, tsc, origin) in enumerate(HAPROXY_CASES):
        log.append(haproxy_line(i, uri, status, server, rc, tr, tsc))
        client = record(i, uri, "192.0.2.2:8080", status, 1000 + i)
        if joined:
            client["leg"] = "client"
            client["upstream"] = None if server is None else {
                "addr": server, "status": status if tr >= 0 else None,
                "attempts": int(rc.lstrip("+")) + 1, "tries": []}
            client["failure_origin"] = origin
        elif server is not None:
            recs.append(record(i, uri, server, status if tr >= 0 else None, 1000 + i))
        recs.append(client)
    return log, recs


def check(gateway, log, recs, joined):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "log"), "w") as f:
            f.write("\n".join(log) + "\n")
        with open(os.path.join(d, "records"), "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        args = [sys.executable, CHECK, "--gateway", gateway, "--log", os.path.join(d, "log"),
                "--records", os.path.join(d, "records"), "--ids"] + (["--join"] if joined else [])
        p = subprocess.run(args, capture_output=True, text=True)
        return p.returncode, p.stdout


def client_of(recs, uri_start):
    return next(r for r in recs if r["server"]["port"] == 8080 and r["request"]["uri"].startswith(uri_start))


failures = 0


def expect(name, want_ok, gateway, log, recs, joined):
    global failures
    rc, out = check(gateway, log, recs, joined)
    if (rc == 0) != want_ok:
        failures += 1
        print(f"FAIL {name}: exit {rc}, expected {'success' if want_ok else 'failure'}\n{out}")
    else:
        print(f"ok   {name}")


for gateway, run in (("nginx", nginx_run), ("haproxy", haproxy_run)):
    for joined in (False, True):
        mode = f"{gateway} {'joined' if joined else 'legs'}"
        log, recs = run(joined)
        expect(f"{mode}: agreeing records pass", True, gateway, log, recs, joined)

        bad = [r for r in copy.deepcopy(recs) if not r["request"] or r["server"]["port"] != 8080
               or not r["request"]["uri"].startswith("/ok")]
        expect(f"{mode}: a missing client-leg record fails", False, gateway, log, bad, joined)

        bad = copy.deepcopy(recs)
        client_of(bad, "/unavail")["response"]["status"] = 200
        expect(f"{mode}: a wrong client status fails", False, gateway, log, bad, joined)

        if joined:
            bad = copy.deepcopy(recs)
            client_of(bad, "/ok")["upstream"]["addr"] = B if gateway == "nginx" else CLOSED
            expect(f"{mode}: a wrong joined address fails", False, gateway, log, bad, joined)

            bad = copy.deepcopy(recs)
            client_of(bad, "/slow")["failure_origin"] = "upstream"
            expect(f"{mode}: a wrong failure_origin fails", False, gateway, log, bad, joined)

            bad = copy.deepcopy(recs)
            client_of(bad, "/slow")["upstream"]["status"] = 200  # the late answer
            expect(f"{mode}: an answer after the timeout as status fails", False, gateway, log,
                   bad, joined)

            bad = copy.deepcopy(recs)
            bad.append(record(0, client_of(bad, "/ok")["request"]["uri"], A, 200, 1000))
            expect(f"{mode}: a joined upstream exchange published again fails", False, gateway,
                   log, bad, joined)

            if gateway == "nginx":
                bad = copy.deepcopy(recs)
                up = client_of(bad, "/retry")["upstream"]
                up["tries"], up["attempts"] = up["tries"][1:], 1
                expect(f"{mode}: a refused try left out of tries fails", False, gateway, log,
                       bad, joined)
        else:
            bad = [r for r in copy.deepcopy(recs)
                   if not (r["request"] and r["server"]["port"] != 8080
                           and r["request"]["uri"].startswith("/ok"))]
            expect(f"{mode}: a missing upstream-leg record fails", False, gateway, log, bad, joined)

            bad = copy.deepcopy(recs)
            for r in bad:
                if r["request"] and r["server"]["port"] != 8080:
                    r["request"]["headers"]["x-request-id"] = "other"
            expect(f"{mode}: an upstream request id not the logged one fails", False, gateway,
                   log, bad, joined)

print(f"{failures} failed")
sys.exit(1 if failures else 0)
