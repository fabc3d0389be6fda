#!/usr/bin/python3
"""Field-level checks of the exchange record on the bundled captures (issue 4: the
complete HTTP exchange record), beyond replay_pcaps.py's method/URI/status/outcome:
interim statuses, body fields, decoded gzip/deflate text, truncation flags, tunnels,
parse-error details, header capture, correlation, timing against the packet times, and
the openresty and kong formats.

  record_fields.py --bin offpath --dir pcaps fields
  record_fields.py --bin offpath --dir pcaps --schema docs/schema/offpath-1.schema.json \
      schema [MORE_DIRS...]     # every line of every capture validates against the schema
"""
import argparse
import json
import os
import struct
import subprocess
import sys

BIN = None
DIR = None
FAILS = []
TEXT = "offpath compressed body test. " * 12
TEXT = TEXT.strip() + "\n"


def run(capture, *extra):
    out = subprocess.run([BIN, "-r", capture, "--publish", "all", "-q", *extra],
                         capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"offpath {capture} {extra} exited {out.returncode}: "
                           f"{out.stderr.decode()}")
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    return [r for r in records if r.get("schema") != "offpath/coverage/1"]


def recs(name, *extra):
    return run(os.path.join(DIR, name + ".pcap"), *extra)


def check(what, got, want):
    if got != want:
        FAILS.append(f"{what}: got {got!r}, want {want!r}")


def tcp_packets(capture):
    """(time in µs, source port, destination port, payload bytes) of each TCP packet of
    an Ethernet/IPv4 microsecond pcap."""
    with open(capture, "rb") as f:
        data = f.read()
    assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, "microsecond little-endian pcap"
    pos = 24
    while pos + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        yield sec * 1000000 + usec, sport, dport, total - ihl - (tcp[12] >> 4) * 4


def packet_times(capture):
    """(client->server payload times, server->client payload times) per connection of an
    Ethernet/IPv4 microsecond pcap, keyed by client port; server port 8080 or 80."""
    conns = {}
    for ts, sport, dport, payload in tcp_packets(capture):
        if payload <= 0:
            continue
        if dport in (80, 8080):
            conns.setdefault(sport, ([], []))[0].append(ts)
        else:
            conns.setdefault(dport, ([], []))[1].append(ts)
    return conns


def payload_bytes(capture, skip_port):
    """TCP payload bytes of an Ethernet/IPv4 microsecond pcap, except on skip_port."""
    return sum(n for _, sport, dport, n in tcp_packets(capture) if skip_port not in (sport, dport))


def micros(seconds):
    return round(seconds * 1e6)


def fields():
    # 100-continue: the interim status, the request body (2176 bytes) cut at --max-body.
    r = recs("expect-100-continue")
    check("100-continue interim", [x["interim_statuses"] for x in r], [[100]])
    q = r[0]["request"]
    check("100-continue body_size", q["body_size"], 2176)
    check("100-continue body length", len(q["body"]), 1024)
    check("100-continue body_truncated", q["body_truncated"], True)
    check("100-continue body start", q["body"][:11], "line 0001: ")
    r = recs("expect-100-continue", "--max-body", "4096")
    check("100-continue full body", (len(r[0]["request"]["body"]),
                                     r[0]["request"]["body_truncated"]), (2176, False))
    r = recs("expect-100-continue", "--max-body", "0")
    check("--max-body 0: no body", "body" in r[0]["request"], False)
    check("--max-body 0: size kept", r[0]["request"]["body_size"], 2176)
    r = recs("expect-100-continue", "--no-request-body")
    check("--no-request-body", ("body" in r[0]["request"], "body" in r[0]["response"]),
          (False, True))

    # 103 Early Hints, then the 200.
    r = recs("early-hints-103")
    check("103 interim", [(x["interim_statuses"], x["response"]["status"]) for x in r],
          [([103], 200)])

    # HEAD: no body although Content-Length is set; the GET after it has its body.
    r = recs("head-request")
    check("HEAD", [(x["request"]["method"], x["response"]["body_size"],
                    x["response"]["headers"].get("content-length")) for x in r],
          [("HEAD", 0, "194"), ("GET", 194, "194")])

    # 204 and 304: no body.
    r = recs("status-204-304")
    check("204/304", [(x["response"]["status"], x["response"]["body_size"]) for x in r],
          [(204, 0), (200, 114), (304, 0)])

    # CONNECT and WebSocket: one exchange at the 200/101, the tunnel counted, not parsed.
    for name, method, status in (("connect-tunnel", "CONNECT", 200),
                                 ("websocket-upgrade", "GET", 101)):
        r = recs(name)
        check(name, [(x["request"]["method"], x["response"]["status"], x["outcome"],
                      x["anomalies"], x["response"]["body_size"]) for x in r],
              [(method, status, "complete", ["upgraded"], 0)])

    # Chunked with chunk extensions (`;seq=2;note="second"`) and trailers.
    r = recs("chunked-trailers")
    p = r[0]["response"]
    check("chunked body", (p["body"], p["body_size"], p["body_truncated"]),
          ("part one\npart two\npart three\n", 29, False))
    check("chunked trailers", (p["headers"]["x-row-count"], p["headers"]["x-checksum"][:6]),
          ("3", "crc32="))
    check("chunked outcome", (r[0]["outcome"], r[0]["anomalies"]), ("complete", []))

    # Close-delimited (HTTP/1.0 response without Content-Length).
    r = recs("close-delimited")
    p = r[0]["response"]
    check("close-delimited", (p["version"], p["body_size"], p["body"].count("event "),
                              r[0]["outcome"]), ("1.0", 72, 3, "complete"))

    # HTTP/1.0 without keep-alive: one exchange per connection.
    r = recs("http10-no-keepalive")
    check("http/1.0", [(x["request"]["version"], x["connection"]["index"]) for x in r],
          [("1.0", 0), ("1.0", 0)])
    check("http/1.0 connections", len({x["connection"]["id"] for x in r}), 2)

    # Pipelining: three requests on one connection, in order.
    r = recs("pipelined")
    check("pipelined", [(x["request"]["uri"], x["connection"]["index"]) for x in r],
          [("/index.html", 0), ("/style.css", 1), ("/api/items?page=3", 2)])
    check("pipelined query", r[2]["request"]["query"], "page=3")

    # Repeated headers joined, obs-fold unfolded, Set-Cookie redacted.
    r = recs("repeated-headers-obsfold")
    check("redacted set-cookie", r[0]["response"]["headers"]["set-cookie"], "[REDACTED]")
    check("obs-fold request", r[1]["request"]["headers"]["x-folded"].split(),
          ["first", "part,", "second", "part"])
    check("obs-fold echo", r[1]["response"]["body"], "x-folded=first part, second part\n")

    # Long headers and URI: bounded, flagged.
    r = recs("long-headers")
    check("long anomalies", sorted(r[0]["anomalies"]), ["headers_truncated", "uri_truncated"])
    check("long uri bounded", len(r[0]["request"]["uri"]), 8192)
    check("long status", r[0]["response"]["status"], 200)

    # TLS-shaped bytes to the HTTP port, answered without a status line: not HTTP, no
    # record; the next connection is read as usual.
    r = recs("parse-error")
    check("not http makes no record", len(r), 1)
    check("not http then ok", (r[0]["outcome"], r[0]["response"]["status"]), ("complete", 200))

    # TLS, SSH, SMTP and PostgreSQL between two HTTP connections: counted, no record.
    check("mixed records", [x["server"]["port"] for x in recs("not-http-mixed")], [8080, 8080])
    summary = subprocess.run([BIN, "-r", os.path.join(DIR, "not-http-mixed.pcap"), "--publish",
                              "all"], capture_output=True, timeout=120).stderr.decode()
    http_line = next(x for x in summary.splitlines() if x.startswith("offpath: http "))
    counts = dict(kv.split("=") for kv in http_line.split()[2:])
    check("mixed not_http", (counts["not_http_connections"], counts["parse_errors"]), ("4", "0"))
    check("mixed not_http_bytes", int(counts["not_http_bytes"]),
          payload_bytes(os.path.join(DIR, "not-http-mixed.pcap"), skip_port=8080))

    # Faults of responses that began as HTTP.
    r = recs("invalid-status")
    check("invalid status", (r[0]["outcome"], r[0]["response"]["status"], r[0]["error_detail"]),
          ("parse_error", None, 'invalid status code in "HTTP/1.1 20 OK"'))
    r = recs("broken-after-status")
    check("broken after status", (r[0]["outcome"], r[0]["response"]["status"],
                                  r[0]["error_detail"].split(":")[0]),
          ("parse_error", 404, "HPE_INVALID_HEADER_TOKEN"))
    r = recs("http-minor-version")
    check("http/1.2 read as 1.1", [(x["response"]["status"], x["response"]["version"]) for x in r],
          [(200, "1.1"), (200, "1.1")])
    r = recs("ambiguous-length")
    check("te+cl body by te", (r[0]["response"]["body"], r[0]["response"]["body_size"],
                               r[0]["anomalies"], r[1]["request"]["uri"]),
          ("hello chunk!", 12, ["ambiguous_length"], "/index.html"))

    # gzip and deflate decoded; sizes on the wire kept.
    r = recs("gzip-response")
    got = [(x["response"]["content_encoding"], x["response"]["body"],
            x["response"]["body_decoded"], x["response"]["body_encoded_size"],
            x["response"]["body_size"], x["response"]["body_truncated"]) for x in r]
    check("gzip/deflate decoded", [g[:4] for g in got],
          [("gzip", TEXT, True, 56), ("deflate", TEXT, True, 44)])
    check("gzip/deflate sizes", [(g[4], g[5]) for g in got], [(56, False), (44, False)])
    r = recs("gzip-response", "--max-body", "100")
    check("decoded bounded", [(len(x["response"]["body"]), x["response"]["body_truncated"])
                              for x in r], [(100, True), (100, True)])
    r = recs("gzip-response", "--max-body", "30")
    check("decoded from a prefix", [(x["response"]["body"], x["response"]["body_truncated"],
                                     x["response"]["body_encoded_size"]) for x in r],
          [(TEXT[:len(x["response"]["body"])], True, 30) for x in r])
    r = recs("gzip-response", "--no-decode")
    check("--no-decode", [(x["response"]["body_encoding"], x["response"]["body_decoded"],
                           "body_encoded_size" in x["response"]) for x in r],
          [("base64", False, False), ("base64", False, False)])

    # Header capture.
    r = recs("gzip-response", "--headers", "none")
    check("--headers none", (r[0]["request"]["headers"], r[0]["response"]["headers"]), ({}, {}))
    r = recs("gzip-response", "--headers", "Content-Encoding,host")
    check("--headers LIST", (r[0]["request"]["headers"], r[0]["response"]["headers"]),
          ({"host": "10.231.0.2:8080"}, {"content-encoding": "gzip"}))
    r = recs("keepalive-get", "--redact", "User-Agent")
    check("--redact", r[0]["request"]["headers"]["user-agent"], "[REDACTED]")

    # Timing against the packet times (one exchange per connection here).
    times = packet_times(os.path.join(DIR, "http10-no-keepalive.pcap"))
    for x in recs("http10-no-keepalive"):
        c2s, s2c = times[x["client"]["port"]]
        t = x["timing"]
        got = (micros(t["request_start"]), micros(t["request_end"]),
               micros(t["response_start"]), micros(t["response_end"]))
        check(f"timing {x['request']['uri']}", got, (c2s[0], c2s[-1], s2c[0], s2c[-1]))
        check("latency_ms", round(t["latency_ms"] * 1000), s2c[-1] - c2s[0])
        check("ttfb_ms", round(t["ttfb_ms"] * 1000), s2c[0] - c2s[0])
        check("request_start_iso", t["request_start_iso"][:19] + "Z",
              __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ",
                                          __import__("time").gmtime(c2s[0] // 1000000)))

    # Seed-compatible formats.
    o = recs("status-404-500", "--format", "openresty")
    check("openresty keys", sorted(o[0]), sorted([
        "timestamp", "iso_timestamp", "error_type", "client_ip", "request_method",
        "request_uri", "request_path", "query_string", "request_body", "user_agent",
        "referer", "upstream_addr", "server_name", "log_type", "request_headers", "status"]))
    check("openresty values", [(x["error_type"], x["status"], x["log_type"], x["client_ip"],
                                x["upstream_addr"], x["server_name"]) for x in o],
          [("client_error", 404, "failed_request", "10.231.0.1", "10.231.0.2:8080",
            "10.231.0.2"),
           ("server_error", 500, "failed_request", "10.231.0.1", "10.231.0.2:8080",
            "10.231.0.2")])
    o = recs("post-body", "--format", "openresty")
    check("openresty body", (o[0]["request_method"], o[0]["request_body"][:13]),
          ("POST", '{"customer":{'))
    k = recs("gzip-response", "--format", "kong")
    check("kong keys", (sorted(k[0]), sorted(k[0]["request"]), sorted(k[0]["response"])),
          (["id", "request", "response", "timestamp", "type"],
           ["body", "headers", "method", "url"], ["body", "headers", "status_code"]))
    check("kong values", (k[0]["request"]["url"], k[0]["response"]["status_code"],
                          k[0]["response"]["body"], k[0]["type"]),
          ("http://10.231.0.2:8080/text/gzip", 200, TEXT, "request-response"))
    n = recs("gzip-response")
    check("kong id = native id", [x["id"] for x in k], [x["id"] for x in n])
    check("kong timestamp ms", k[0]["timestamp"],
          micros(n[0]["timing"]["request_start"]) // 1000)


def schema(schema_path, dirs):
    import jsonschema
    with open(schema_path) as f:
        sch = json.load(f)
    cls = jsonschema.validators.validator_for(sch)
    cls.check_schema(sch)
    validator = cls(sch)
    lines = captures = 0
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if not name.endswith((".pcap", ".pcapng", ".cap")):
                continue
            path = os.path.join(d, name)
            # Both the defaults and the variants that change the record's shape.
            for extra in ([], ["--connect-failures"], ["--no-decode", "--max-body", "0"],
                          ["--headers", "none", "--no-response-body"]):
                for rec in run(path, *extra):
                    lines += 1
                    for err in validator.iter_errors(rec):
                        FAILS.append(f"{name} {extra} id {rec.get('id')}: "
                                     f"{'/'.join(map(str, err.path))}: {err.message[:200]}")
            captures += 1
    print(f"schema: {lines} records from {captures} captures checked")
    if captures == 0 or lines == 0:
        FAILS.append("no captures or no records to validate")


def main():
    global BIN, DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--schema")
    ap.add_argument("mode", choices=["fields", "schema"])
    ap.add_argument("more", nargs="*", help="more capture folders (schema mode)")
    args = ap.parse_args()
    BIN, DIR = args.bin, args.dir
    if args.mode == "fields":
        fields()
    else:
        schema(args.schema, [args.dir] + [d for d in args.more if os.path.isdir(d)])
    for f in FAILS:
        print("FAIL", f)
    print(f"{args.mode}: {'ok' if not FAILS else f'{len(FAILS)} failures'}")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
