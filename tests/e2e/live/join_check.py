#!/usr/bin/env python3
"""Holds offpath's records of a gateway run (join_test.sh) to the gateway's own log.

Usage: join_check.py --gateway nginx|haproxy --log FILE --records FILE [--min-rate N]
                     [--join] [--min-agreement 0.999] [--show N]

Every request of the load carries ?n=THREAD-SEQ (join_load.lua), unique in the run and kept
by the gateway's rewrites, so each log line names the records of both legs that belong to
it. The checks, each printed as a figure:
  rate        the gateway logged at least --min-rate requests per second (log time span);
  client leg  each logged request has its client-leg record: same client port, same status;
  upstream    (without --join) each upstream try the log names has its upstream-leg record
              (same backend address; the backend's status when it answered, none when it
              reset or was too slow; with --ids the logged request id in its X-Request-ID),
              and each refused try a connection_refused event to that address;
  --join      each client-leg record carries "upstream" with the address and status of the
              gateway's last try (status null when the backend did not answer in time; nginx:
              every try, in order, with "attempts"; HAProxy: "attempts" = retries + 1),
              "failure_origin" is right for every 502/503/504, and no joined upstream
              exchange is published on its own.
Figures below --min-agreement (and any wrong failure_origin) fail the check; join_check_test.py
tests the check itself on constructed logs and records.
"""
import argparse
import json
import re
import sys
from collections import Counter

TOKEN = re.compile(r"[?&]n=(\d+-\d+)")
CLIENT_PORT = 8080


def token(uri):
    m = TOKEN.search(uri or "")
    return m.group(1) if m else None


class Try:
    """One upstream attempt as the gateway logged it."""

    def __init__(self, addr, status, connected, answered):
        self.addr = addr            # "ip:port"
        self.status = status        # the status the gateway logged for the try (int or None)
        self.connected = connected  # the TCP connection was made
        self.answered = answered    # the backend sent a response header

    def backend_status(self):
        return self.status if self.answered else None


class Line:
    def __init__(self, raw, time, client, request_id, method, uri, status, tries, origin,
                 retries=None):
        self.raw = raw
        self.time = time
        self.client = client
        self.request_id = request_id
        self.method = method
        self.uri = uri
        self.status = status
        self.tries = tries          # every try (nginx); the last one only (HAProxy)
        self.origin = origin        # expected failure_origin for a 502/503/504, else None
        self.retries = retries      # HAProxy's retry count
        self.token = token(uri)


NGINX = re.compile(r'^(\S+) (\S+) (\S+) (\S+) "(\S+) (\S+)" (\d+) "([^"]*)" "([^"]*)" "([^"]*)" '
                   r'"([^"]*)" "([^"]*)"$')


def split_list(field):
    return [x.strip() for x in field.split(",")] if field else []


def parse_nginx(raw):
    m = NGINX.match(raw)
    if not m:
        return None
    end, took, client, rid, method, uri, status, addrs, statuses, _resp, connects, headers = m.groups()
    status = int(status)
    tries = []
    if addrs != "-":
        addrs, statuses = split_list(addrs), split_list(statuses)
        connects, headers = split_list(connects), split_list(headers)
        for i, addr in enumerate(addrs):
            if ":" not in addr:
                continue  # the upstream group's name: no server left to try, no connection
            st = statuses[i] if i < len(statuses) else "-"
            conn = connects[i] if i < len(connects) else "-"
            hdr = headers[i] if i < len(headers) else "-"
            tries.append(Try(addr, None if st == "-" else int(st), conn != "-", hdr != "-"))
    origin = None
    if status in (502, 503, 504):
        last = tries[-1] if tries else None
        if last is None or not last.connected:
            origin = "gateway"            # no try, or the upstream refused / unreachable
        elif last.answered:
            origin = "upstream"           # the backend sent this status
        elif status == 504:
            origin = "gateway"            # the gateway timed out waiting
        else:
            origin = "upstream"           # the backend reset or closed mid-response
    return Line(raw, float(end) - float(took), client, rid, method, uri, status, tries, origin)


HAPROXY = re.compile(r'^(\S+) (\S+) (\S+) "(\S+) (\S+)" (-?\d+) "([^"]*)" "([^"]*)" "([^"]*)" '
                     r'(\+?-?\d+) (-?\d+) (-?\d+) (\S+)$')


def parse_haproxy(raw):
    m = HAPROXY.match(raw)
    if not m:
        return None
    t, client, rid, method, uri, status, _backend, server, saddr, rc, tr, _ta, tsc = m.groups()
    status = int(status)
    tries = []
    if server != "<NOSRV>":
        # The termination state's second letter is the phase it ended in: C connect,
        # H response headers; '-' a normal end.
        connected = not (tsc[0] in "Ss" and tsc[1] == "C")
        tries.append(Try(saddr, status if int(tr) >= 0 else None, connected, int(tr) >= 0))
    origin = None
    if status in (502, 503, 504):
        if server == "<NOSRV>" or tsc[0] in "sPRI" or tsc[:2] == "SC":
            origin = "gateway"   # no server, a timeout, a refused connect, the proxy itself
        elif tsc[0] == "C":
            origin = "client"
        else:
            origin = "upstream"  # the server answered it (--) or aborted (SH/SD)
    return Line(raw, float(t), client, rid, method, uri, status, tries, origin,
                retries=int(rc.lstrip("+")))


CONNECTIONS = {"client": set(), "upstream": set()}  # connection ids seen on each leg


def load_records(path):
    client, upstream, refused = {}, {}, Counter()
    duplicates = 0
    other = 0
    for raw in open(path):
        raw = raw.strip()
        if not raw:
            continue
        rec = json.loads(raw)
        if rec.get("schema") != "offpath/1":
            continue
        req = rec.get("request")
        server = f'{rec["server"]["ip"]}:{rec["server"]["port"]}'
        if req is None:
            if rec["outcome"] == "connection_refused":
                refused[server] += 1
            else:
                other += 1
            continue
        tok = token(req["uri"])
        if tok is None:
            other += 1
            continue
        leg = "client" if rec["server"]["port"] == CLIENT_PORT else "upstream"
        CONNECTIONS[leg].add((rec.get("connection") or {}).get("id"))
        if leg == "client":
            if tok in client:
                duplicates += 1
            client[tok] = rec
        else:
            upstream.setdefault(tok, []).append(rec)
    return client, upstream, refused, duplicates, other


def status_of(rec):
    resp = rec.get("response")
    return resp["status"] if resp else None


class Figure:
    def __init__(self, name):
        self.name, self.good, self.total, self.bad = name, 0, 0, []

    def add(self, ok, line, detail):
        self.total += 1
        if ok:
            self.good += 1
        else:
            self.bad.append((line, detail))

    def ratio(self):
        return self.good / self.total if self.total else 1.0

    def show(self, limit):
        print(f"  {self.name:<34} {self.good}/{self.total} = {100 * self.ratio():.3f}%")
        if self.bad:
            paths = Counter(line.uri.split("?", 1)[0] for line, _ in self.bad)
            print("      disagreements by path:", dict(paths.most_common()))
        for line, detail in self.bad[:limit]:
            print(f"      log: {line.raw}")
            print(f"      got: {detail}")


def check_client(line, rec, fig):
    if rec is None:
        fig.add(False, line, "no client-leg record")
        return
    port = int(line.client.rsplit(":", 1)[1])
    got = status_of(rec)
    # A request the gateway logs as abandoned by the client (nginx 499, HAProxy -1) has no
    # response on the wire.
    want = None if line.status in (499, -1) else line.status
    fig.add(rec["client"]["port"] == port and got == want, line,
            f'client port {rec["client"]["port"]}, status {got}, outcome {rec["outcome"]}')


def try_matches(t, rec, timed_out):
    """An upstream-leg record is the capture of try t: same backend, and the backend's status
    when it answered; none when it reset, or (a try the gateway gave up on) an answer that
    came after the gateway had stopped waiting."""
    addr = f'{rec["server"]["ip"]}:{rec["server"]["port"]}'
    if addr != t.addr:
        return False
    if t.answered:
        return status_of(rec) == t.status
    return status_of(rec) is None or timed_out


def check_upstream_capture(line, recs, fig, ids):
    # The tries that reached a backend, in order, against the upstream-leg records with the
    # request's token, in time order.
    tries = [t for t in line.tries if t.connected]
    if line.retries is not None:
        # HAProxy names only its last server: earlier tries are not in its log.
        tries = tries[-1:]
        recs = sorted(recs, key=lambda r: r["timing"]["request_start"] or 0)[-1:]
    recs = sorted(recs, key=lambda r: r["timing"]["request_start"] or 0)
    timed_out = line.status == 504
    ok = len(recs) == len(tries) and all(try_matches(t, r, timed_out) for t, r in zip(tries, recs))
    if ok and ids:
        ok = all(r["request"]["headers"].get("x-request-id") == line.request_id for r in recs)
    got = [(f'{r["server"]["ip"]}:{r["server"]["port"]}', status_of(r), r["outcome"]) for r in recs]
    fig.add(ok, line, f"upstream records {got}")


def check_join(line, rec, fig_addr, fig_tries, fig_origin, origins):
    up = rec.get("upstream") if rec else None
    last = line.tries[-1] if line.tries else None
    if last is None:
        fig_addr.add(up is None, line, f"upstream {json.dumps(up)}")
    else:
        ok = up is not None and up.get("addr") == last.addr and up.get("status") == last.backend_status()
        fig_addr.add(ok, line, f"upstream {json.dumps(up)}")
    if line.retries is None:  # nginx logs every try
        want = [(t.addr, t.backend_status()) for t in line.tries]
        got = [(t.get("addr"), t.get("status")) for t in (up or {}).get("tries", [])]
        fig_tries.add(got == want and (up or {}).get("attempts", 0) == len(want), line,
                      f"tries {got}, attempts {(up or {}).get('attempts')}")
    elif up is not None:
        fig_tries.add(up.get("attempts") == line.retries + 1, line,
                      f"attempts {up.get('attempts')} (log: {line.retries} retries)")
    if line.origin is not None:
        got = rec.get("failure_origin") if rec else None
        origins[(line.status, line.origin, got)] += 1
        fig_origin.add(got == line.origin, line, f"failure_origin {got}, want {line.origin}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", choices=("nginx", "haproxy"), required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--records", required=True)
    ap.add_argument("--min-rate", type=float, default=0)
    ap.add_argument("--min-agreement", type=float, default=0.999)
    ap.add_argument("--min-tries-agreement", type=float, default=None,
                    help="for the joined tries / attempts figure (default: --min-agreement)")
    ap.add_argument("--join", action="store_true", help="offpath ran with the join")
    ap.add_argument("--ids", action="store_true", help="the gateway sent X-Request-ID upstream")
    ap.add_argument("--show", type=int, default=5, help="disagreements shown per figure")
    args = ap.parse_args()

    parse = parse_nginx if args.gateway == "nginx" else parse_haproxy
    lines, unparsed, probes, notices = [], [], 0, 0
    for raw in open(args.log):
        raw = raw.rstrip("\n")
        if not raw:
            continue
        if not raw[0].isdigit():
            notices += 1  # the gateway's own messages (HAProxy: a server went down)
            continue
        line = parse(raw)
        if line is None:
            unparsed.append(raw)
        elif line.token is None:
            probes += 1  # the start-up probes, not part of the load
        else:
            lines.append(line)
    ok = True
    if unparsed:
        print(f"{len(unparsed)} log lines not understood, e.g. {unparsed[0]}")
        ok = False
    if not lines:
        print("no request in the gateway log")
        return 1
    span = max(l.time for l in lines) - min(l.time for l in lines)
    rate = len(lines) / span if span > 0 else 0.0
    statuses = Counter(l.status for l in lines)
    print(f"{args.gateway} log: {len(lines)} requests in {span:.2f} s = {rate:.0f} req/s; "
          f"statuses {dict(sorted(statuses.items()))}; {probes} start-up probes and {notices} notices left out")
    tries = Counter(len(l.tries) for l in lines)
    print(f"  upstream tries per request {dict(sorted(tries.items()))}"
          + (f"; retried {sum(1 for l in lines if l.retries)}" if args.gateway == "haproxy" else ""))
    if rate < args.min_rate:
        print(f"FAIL: {rate:.0f} req/s is below {args.min_rate:.0f}")
        ok = False

    client, upstream, refused, duplicates, other = load_records(args.records)
    print(f"offpath: {len(client)} client-leg records, "
          f"{sum(len(v) for v in upstream.values())} upstream-leg records, "
          f"{sum(refused.values())} connection_refused events {dict(refused)}, "
          f"{other} other records, {duplicates} duplicate tokens")
    if duplicates:
        ok = False
    # Keep-alive and new connections on both legs: requests per connection.
    exchanges = {"client": len(client), "upstream": sum(map(len, upstream.values()))}
    print("  connections: " + ", ".join(
        f"{leg} leg {len(ids)} ({exchanges[leg] / max(1, len(ids)):.1f} requests each)"
        for leg, ids in CONNECTIONS.items()))

    fig_client = Figure("client leg: record, port, status")
    fig_up = Figure("upstream leg: tries captured")
    fig_addr = Figure("joined upstream addr+status")
    fig_tries = Figure("joined tries / attempts")
    fig_origin = Figure("failure_origin of 502/503/504")
    origins = Counter()
    refused_tries = Counter()
    for line in lines:
        rec = client.get(line.token)
        check_client(line, rec, fig_client)
        if args.join:
            check_join(line, rec, fig_addr, fig_tries, fig_origin, origins)
        else:
            # Without the join the upstream leg is published on its own: each try is a record
            # (with the join, the tries are in the client-leg record instead).
            check_upstream_capture(line, upstream.get(line.token, []), fig_up, args.ids)
            for t in line.tries:
                if not t.connected:
                    refused_tries[t.addr] += 1

    # Requests offpath saw that the gateway never logged: HAProxy closes a keep-alive client
    # connection silently, without a log line, when a reused server connection fails before
    # any response (the client may retry). Such a request must have no response.
    logged = {l.token for l in lines}
    unlogged = [rec for tok, rec in client.items() if tok not in logged]
    answered = [rec for rec in unlogged if rec.get("response")]
    print(f"  client-leg requests the gateway did not log: {len(unlogged)}, "
          f"{len(answered)} of them with a response "
          f"(URIs {sorted(Counter(r['request']['path'] for r in unlogged).items())})")
    if answered:
        print(f"FAIL: {len(answered)} responses offpath saw are not in the gateway's log:")
        for rec in answered[:args.show]:
            print("      got:", json.dumps(rec))
        ok = False

    figures = [fig_client]
    if args.join:
        figures += [fig_addr, fig_tries, fig_origin]
        if args.ids:
            # The id the gateway sent upstream is the one it logged: the join had it to go by.
            sent = sum(1 for l in lines if any(r["request"]["headers"].get("x-request-id") == l.request_id
                                              for r in upstream.get(l.token, [])))
            print(f"  upstream-leg records published alone with the logged request id: {sent}")
        # Joined upstream exchanges are not published again on their own.
        joined_alone = sum(1 for tok, recs in upstream.items()
                           if client.get(tok, {}).get("upstream") for _ in recs)
        print(f"  upstream-leg records published although their request joined: {joined_alone}")
        if joined_alone:
            ok = False
    else:
        figures.append(fig_up)
        print("  (offpath has no join: the join figures are not measured)")
    print("agreement with the gateway log:")
    for fig in figures:
        fig.show(args.show)
    for fig in (fig_client, fig_up, fig_addr, fig_tries):
        least = args.min_agreement
        if fig is fig_tries and args.min_tries_agreement is not None:
            least = args.min_tries_agreement
        if fig in figures and fig.ratio() < least:
            print(f"FAIL: {fig.name} below {100 * least:.1f}%")
            ok = False
    if args.join and fig_origin.bad:
        print("FAIL: a 502/503/504 with the wrong failure_origin")
        ok = False
    if args.join:
        print("  502/503/504 by (status, origin from the log, offpath's):",
              dict(sorted(origins.items(), key=str)))
    # Each refused try the log names is a connection_refused event to that address (HAProxy's
    # health checks add their own).
    for addr, n in refused_tries.items():
        print(f"  refused tries to {addr}: log {n}, connection_refused events {refused[addr]}")
        if refused[addr] < n:
            print(f"FAIL: fewer connection_refused events to {addr} than refused tries")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
