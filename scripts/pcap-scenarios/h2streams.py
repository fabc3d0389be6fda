#!/usr/bin/python3
"""Lists tshark's view of the HTTP/2 streams in a capture and checks it against a
scenario's spec: the oracle for the h2c and gRPC captures.

Usage: h2streams.py PCAP SERVER_PORT < SPEC > NAME.h2streams.txt
       h2streams.py --verify PCAP...

SPEC has one line per stream: CONN STREAM METHOD PATH STATUS GRPC_STATUS END
CONN is the 0-based index of the connection in the order of its first SYN to
SERVER_PORT (as in expected.py); "-" stands for none; END is "end" (the server ended
the stream), "rst:CODE" (the first RST_STREAM, from either side, has that error code) or
"open". STATUS is the final :status, GRPC_STATUS the last grpc-status the server sent.
Connections with no stream in the spec must have no HTTP/2 stream in the capture.

tshark reads the server port as HTTP/2 (-d tcp.port==PORT,http2), or as HTTP when the
capture holds an HTTP/1.1 Upgrade: h2c, so that its HTTP dissector follows the 101
into HTTP/2; the upgraded request is stream 1. Writes one line per stream, in the
spec's format, plus each connection's GOAWAY frames, and exits 1 when the listing
differs from the spec. --verify re-derives each committed NAME.h2streams.txt (the server
port and the streams from the file itself) and exits 1 unless tshark still gives the
same listing, line for line. Needs tshark.
"""

import json
import subprocess
import sys

from expected import connections, endpoint
import ipaddress

RST_CODES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
             4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR",
             7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR",
             11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}


def walk(node, key):
    """Every dict under node (lists and dicts, depth first) that has key."""
    if isinstance(node, dict):
        if key in node:
            yield node
        for v in node.values():
            yield from walk(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def first(node, key):
    for d in walk(node, key):
        return d[key]
    return None


def tshark_streams(pcap, port):
    upgrade = b"Upgrade: h2c" in open(pcap, "rb").read()
    proto = "http" if upgrade else "http2"
    out = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%d,%s" % (port, proto),
                          "-Y", "http2 || http", "-T", "json", "--no-duplicate-keys"],
                         check=True, capture_output=True, text=True).stdout
    streams, goaways = {}, {}
    for pkt in json.loads(out or "[]"):
        layers = pkt["_source"]["layers"]
        ip = layers.get("ip") or layers.get("ipv6")
        src = ipaddress.ip_address(first(ip, "ip.src") or first(ip, "ipv6.src"))
        dst = ipaddress.ip_address(first(ip, "ip.dst") or first(ip, "ipv6.dst"))
        sport, dport = int(layers["tcp"]["tcp.srcport"]), int(layers["tcp"]["tcp.dstport"])
        from_server = sport == port
        if from_server:
            src, dst, sport, dport = dst, src, dport, sport
        conn = "%s-%s" % (endpoint(src, sport), endpoint(dst, dport))
        if "http" in layers and not from_server:
            http = layers["http"]
            method = first(http, "http.request.method")
            if method:
                s = streams.setdefault((conn, 1), new_stream())
                s["method"], s["path"] = method, first(http, "http.request.uri")
        for frame in walk(layers.get("http2", []), "http2.streamid"):
            sid, ftype = int(frame["http2.streamid"]), int(frame.get("http2.type", -1))
            if ftype == 7:
                goaways.setdefault(conn, []).append(
                    "goaway %s last_stream %s error %s" % (
                        "server" if from_server else "client",
                        first(frame, "http2.goaway.last_stream_id"),
                        RST_CODES.get(int(first(frame, "http2.goaway.error") or 0))))
            if sid == 0 or ftype not in (0, 1, 3, 9):  # PRIORITY alone opens no stream
                continue
            s = streams.setdefault((conn, sid), new_stream())
            for h in walk(frame, "http2.header.name"):
                name, value = h["http2.header.name"], h.get("http2.header.value", "")
                if name == ":method" and not from_server:
                    s["method"] = value
                elif name == ":path" and not from_server:
                    s["path"] = value
                elif name == ":status" and from_server and not value.startswith("1"):
                    s["status"] = value
                elif name == "grpc-status" and from_server:
                    s["grpc"] = value
            if ftype == 3 and not s["end"].startswith("rst:"):
                s["end"] = "rst:" + RST_CODES.get(int(first(frame, "http2.rst_stream.error")), "?")
            elif from_server and s["end"] == "open" and first(frame, "http2.flags.end_stream") in ("1", "True", True):
                s["end"] = "end"
    return streams, goaways


def new_stream():
    return {"method": "-", "path": "-", "status": "-", "grpc": "-", "end": "open"}


def verify(pcaps):
    bad = 0
    for pcap in pcaps:
        path = pcap[:-len(".pcap")] + ".h2streams.txt"
        committed = open(path).read().splitlines()
        port = int(committed[0].split("(server port ")[1].split(")")[0])
        spec = [line[len("stream "):] for line in committed if line.startswith("stream ")]
        listing, got = listing_of(pcap, port)
        same = listing == committed and got == spec
        bad += not same
        print("%s: %s" % (path, "tshark gives the same listing" if same else "DIFFERS from tshark"))
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--verify":
        return verify(sys.argv[2:])
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    pcap, port = sys.argv[1], int(sys.argv[2])
    want = [" ".join(line.split()) for line in sys.stdin if line.strip()]
    listing, got = listing_of(pcap, port)
    print("\n".join(listing))
    if got != want:
        for line in sorted(set(got) - set(want)):
            print("h2streams: tshark has, spec lacks: " + line, file=sys.stderr)
        for line in sorted(set(want) - set(got)):
            print("h2streams: spec has, tshark lacks: " + line, file=sys.stderr)
        return 1
    return 0


def listing_of(pcap, port):
    """The listing's lines and its streams (spec format)."""
    conns = connections(pcap, port)
    streams, goaways = tshark_streams(pcap, port)
    got = []
    for (conn, sid), s in sorted(streams.items(), key=lambda kv: (conns.index(kv[0][0]), kv[0][1])):
        got.append("%d %d %s %s %s %s %s" % (conns.index(conn), sid, s["method"], s["path"],
                                             s["status"], s["grpc"], s["end"]))
    listing = ["# tshark's HTTP/2 streams in %s (server port %d): CONN STREAM METHOD PATH STATUS"
               " GRPC_STATUS END" % (pcap.rsplit("/", 1)[-1], port)]
    for n, conn in enumerate(conns):
        listing.append("conn %d %s" % (n, conn))
        listing.extend("  " + g for g in goaways.get(conn, []))
    listing.extend("stream " + line for line in got)
    return listing, got


if __name__ == "__main__":
    sys.exit(main())
