#!/usr/bin/python3
"""Writes pcaps/NAME.expected.jsonl from a scenario's known exchanges and the
connections found in its capture.

Usage: expected.py PCAP SERVER_PORT < SPEC > EXPECTED.jsonl
       expected.py --check PCAP SERVER_PORT EXPECTED.jsonl

SPEC has one line per exchange, in the order the requests start on the wire:
    CONN METHOD URI STATUS OUTCOME [ANOMALIES]
CONN is the 0-based index of the connection in the order of its first SYN to
SERVER_PORT; "-" stands for null (METHOD, URI, STATUS). OUTCOME "none" says that the
connection makes no record (neither direction is HTTP): the line writes nothing.
ANOMALIES, when given, is the comma-separated list of the record's anomalies (all of
them: the replay test then compares the list). The client address and
port of each connection are read from the capture, so a re-recording (new
ephemeral ports) gives a consistent file. Every connection in the capture must be
used by the spec and every CONN must exist in the capture, or this exits 1.

--check compares an expected file with tshark's view of the capture (requests and
final statuses per connection) and prints each difference; it exits 0 even when
they differ, since some captures hold traffic that tshark reads otherwise on
purpose (see pcaps/README.md). Needs tshark.
"""

import ipaddress
import json
import struct
import subprocess
import sys

OUTCOMES = {"complete", "connection_reset", "connection_closed", "capture_ended", "parse_error"}


def packets(path):
    """Yields (linktype, frame bytes) for each record of a classic pcap file."""
    with open(path, "rb") as f:
        head = f.read(24)
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            raise SystemExit("%s: not a pcap file" % path)
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            caplen = struct.unpack(endian + "I", rec[8:12])[0]
            yield linktype, f.read(caplen)


def tcp_of(linktype, frame):
    """Returns (src, dst, sport, dport, flags) for an Ethernet/IPv4/IPv6 TCP frame."""
    if linktype != 1 or len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6:
            return None
        src, dst, tcp = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20]), ip[ihl:]
    elif ethertype == 0x86DD and len(ip) >= 40:
        if ip[6] != 6:  # no extension headers in these recordings
            return None
        src, dst, tcp = ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40]), ip[40:]
    else:
        return None
    if len(tcp) < 14:
        return None
    sport, dport = struct.unpack("!HH", tcp[:4])
    return src, dst, sport, dport, tcp[13]


def endpoint(addr, port):
    return ("[%s]:%d" if addr.version == 6 else "%s:%d") % (addr, port)


def connections(pcap, server_port):
    """Client-to-server connections in the order of their first SYN."""
    seen = []
    for linktype, frame in packets(pcap):
        t = tcp_of(linktype, frame)
        if not t:
            continue
        src, dst, sport, dport, flags = t
        syn, ack = flags & 0x02, flags & 0x10
        if syn and not ack and dport == server_port:
            conn = "%s-%s" % (endpoint(src, sport), endpoint(dst, dport))
            if conn not in seen:
                seen.append(conn)
    return seen


def null(field):
    return None if field == "-" else field


def write(pcap, server_port):
    conns = connections(pcap, server_port)
    used = set()
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) not in (5, 6):
            raise SystemExit("spec line %d: want CONN METHOD URI STATUS OUTCOME [ANOMALIES]" % n)
        idx, method, uri, status, outcome = fields[:5]
        idx = int(idx)
        if idx >= len(conns):
            raise SystemExit("%s: spec wants connection %d, capture has %d connection(s) to port %d"
                             % (pcap, idx, len(conns), server_port))
        if outcome not in OUTCOMES | {"none"}:
            raise SystemExit("spec line %d: unknown outcome %s" % (n, outcome))
        used.add(idx)
        if outcome == "none":
            continue
        status = null(status)
        row = {"conn": conns[idx], "method": null(method), "uri": null(uri),
               "status": int(status) if status else None, "outcome": outcome}
        if len(fields) == 6:
            row["anomalies"] = sorted(fields[5].split(","))
        print(json.dumps(row))
    if used != set(range(len(conns))):
        raise SystemExit("%s: capture has %d connection(s) to port %d, spec uses %s"
                         % (pcap, len(conns), server_port, sorted(used)))


def tshark_view(pcap, server_port):
    """Per connection: list of (method, uri) requests and list of final statuses."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-d", "tcp.port==%d,http" % server_port, "-Y", "http",
         "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.dstport", "-e", "http.request.method", "-e", "http.request.uri",
         "-e", "http.response.code"],
        check=True, capture_output=True, text=True).stdout
    view = {}
    for row in out.splitlines():
        src4, src6, sport, dst4, dst6, dport, methods, uris, codes = row.split("\t")
        src = ipaddress.ip_address(src4 or src6)
        dst = ipaddress.ip_address(dst4 or dst6)
        sport, dport = int(sport), int(dport)
        if sport == server_port:
            src, dst, sport, dport = dst, src, dport, sport
        conn = "%s-%s" % (endpoint(src, sport), endpoint(dst, dport))
        reqs, finals = view.setdefault(conn, ([], []))
        if methods:
            reqs.extend(zip(methods.split("\x1f"), uris.split("\x1f")))
        for code in codes.split("\x1f") if codes else []:
            if not code.startswith("1") or code == "101":  # 101 ends the HTTP exchange
                finals.append(int(code))
    return view


def check(pcap, server_port, expected):
    view = tshark_view(pcap, server_port)
    want = {}
    for line in open(expected):
        e = json.loads(line)
        reqs, finals = want.setdefault(e["conn"], ([], []))
        if e["method"] is not None:
            reqs.append((e["method"], e["uri"]))
        if e["status"] is not None:
            finals.append(e["status"])
    diffs = 0
    for conn in sorted(set(view) | set(want)):
        got, exp = view.get(conn, ([], [])), want.get(conn, ([], []))
        if got[0] != exp[0]:
            diffs += 1
            print("  %s requests: tshark %s, expected %s" % (conn, short(got[0]), short(exp[0])))
        if got[1] != exp[1]:
            diffs += 1
            print("  %s final statuses: tshark %s, expected %s" % (conn, got[1], exp[1]))
    return diffs


def short(reqs):
    return [(m, u if len(u) <= 60 else u[:40] + "...(%d bytes)" % len(u)) for m, u in reqs]


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "--check":
        diffs = check(args[1], int(args[2]), args[3])
        print("%s: %s" % (args[1], "agrees with tshark" if not diffs else
                          "%d difference(s) from tshark" % diffs))
        return 0
    if len(args) == 2:
        write(args[0], int(args[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
