#!/usr/bin/python3
"""Makes the encapsulation, link-type and IP-fragment captures of pcaps/ from two real
recorded captures (record-pcaps.sh): keepalive-get.pcap (three GETs over IPv4) and
ipv6-get.pcap (two GETs over IPv6). Every packet of the inner capture is wrapped, as it
is, in one encapsulation per output file, keeping its time, so the inner flows and
their exchanges are exactly the inner capture's. For each NAME.pcap it writes
NAME.expected.jsonl (the inner capture's) and NAME.summary (the summary counters offpath
must print for it; tests/replay/replay_pcaps.py checks them).

Needs python3-scapy (scripts/install-deps.sh --regen). With --check, tshark must see
the same requests and statuses in each capture as the expected file lists.
Usage: make-encap-pcaps.py [--check] [NAME ...]
"""
import json
import subprocess
import os
import shutil
import struct
import sys

from scapy.all import (GRE, IP, IPv6, IPv6ExtHdrFragment, LLC, PPPoE, Raw, SNAP, UDP,
                       Dot3, Ether, rdpcap)
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.contrib.gtp import GTP_U_Header
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

PCAPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcaps")
V4 = "keepalive-get"
V6 = "ipv6-get"
CLIENT_V4 = "10.231.0.1"
CLIENT_V6 = "fd00:231::1"
# Tunnel endpoints (documentation prefixes): the client side's, then the server side's.
OUTER_V4 = ("192.0.2.1", "192.0.2.2")
OUTER_V6 = ("2001:db8::1", "2001:db8::2")

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_NFLOG = 239


def write_pcap(path, linktype, frames):
    """frames: (time, bytes). Microsecond pcap, snap length 65535."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for t, b in frames:
            sec = int(t)
            usec = int(round((t - sec) * 1_000_000))
            f.write(struct.pack("<IIII", sec, usec, len(b), len(b)))
            f.write(b)


def inner(name):
    return [(float(p.time), p) for p in rdpcap(os.path.join(PCAPS, name + ".pcap"))]


def from_client(p):
    ip = p.payload
    return ip.src in (CLIENT_V4, CLIENT_V6)


def outer_v4(p, proto):
    a, b = OUTER_V4 if from_client(p) else OUTER_V4[::-1]
    return IP(src=a, dst=b, proto=proto, ttl=64, id=0)


def outer_v6(p, nh):
    a, b = OUTER_V6 if from_client(p) else OUTER_V6[::-1]
    return IPv6(src=a, dst=b, nh=nh, hlim=64)


def eth(p, etype):
    return Ether(src=p.src, dst=p.dst, type=etype)


def udp(p, port, sport=None):
    return UDP(sport=sport if sport is not None else (40000 if from_client(p) else 40001),
               dport=port)


def geneve_header(vni):
    # Version 0, 2 words of options, protocol transparent Ethernet bridging, VNI; one
    # option: class 0x0102, type 0x80, 1 word of data.
    return struct.pack(">BBHI", 2, 0, 0x6558, vni << 8) + struct.pack(">HBB", 0x0102, 0x80, 1) + b"OPT1"


def nflog_frame(ip_bytes, family):
    def tlv(t, v):
        body = struct.pack("<HH", 4 + len(v), t) + v
        return body + b"\0" * ((4 - len(body) % 4) % 4)
    ethertype = 0x0800 if family == 2 else 0x86DD
    return (struct.pack(">BBH", family, 0, 0) + tlv(1, struct.pack(">HBB", ethertype, 3, 0)) +
            tlv(10, b"offpath\0") + tlv(9, ip_bytes))


# One wrapper per kind: packet (an Ethernet frame of the inner capture) and its index
# -> (frame bytes). The summary names the counters that must then appear.
def wrap_all(src, fn):
    return [(t, bytes(fn(p, i))) for i, (t, p) in enumerate(inner(src))]


def ether_kinds():
    n4 = len(inner(V4))
    n6 = len(inner(V6))
    return {
        "encap-mpls": (V4, lambda p, i: eth(p, 0x8847) / MPLS(label=16, s=0, ttl=64) /
                       MPLS(label=1000 + i % 3, s=1, ttl=64) / p.payload, f"encap mpls={n4}"),
        "encap-pppoe": (V4, lambda p, i: eth(p, 0x8864) / PPPoE(sessionid=0x2a) / Raw(bytes([0x00, 0x21])) /
                        p.payload, f"encap pppoe={n4}"),
        "encap-llc-snap": (V4, lambda p, i: Dot3(src=p.src, dst=p.dst) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) /
                           SNAP(OUI=0, code=0x0800) / p.payload, f"encap llc_snap={n4}"),
        "encap-gre": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 47) / GRE(proto=0x0800) / p.payload,
                      f"encap gre={n4}"),
        "encap-gre-key-seq": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 47) /
                              GRE(chksum_present=1, key_present=1, seqnum_present=1, key=0x1234,
                                  seqence_number=i, proto=0x0800) / p.payload, f"encap gre={n4}"),
        "encap-erspan1": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 47) / GRE(proto=0x88BE) / p,
                          f"encap gre={n4} erspan={n4}"),
        "encap-erspan2": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 47) /
                          GRE(seqnum_present=1, seqence_number=i, proto=0x88BE) /
                          ERSPAN_II(ver=1, session_id=7, index=1) / p, f"encap gre={n4} erspan={n4}"),
        "encap-erspan3": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 47) /
                          GRE(seqnum_present=1, seqence_number=i, proto=0x22EB) /
                          ERSPAN_III(ver=2, session_id=7, timestamp=i, o=0) / p,
                          f"encap gre={n4} erspan={n4}"),
        "encap-vxlan": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 17) / udp(p, 4789) /
                        VXLAN(vni=42, flags=0x08) / p, f"encap vxlan={n4}"),
        "encap-geneve": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 17) / udp(p, 6081) /
                         Raw(geneve_header(43)) / p, f"encap geneve={n4}"),
        "encap-gtpu": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 17) / udp(p, 2152, 2152) /
                       GTP_U_Header(teid=0x100 + (0 if from_client(p) else 1), S=1, seq=i) / p.payload,
                       f"encap gtpu={n4}"),
        "encap-ipip": (V4, lambda p, i: eth(p, 0x0800) / outer_v4(p, 4) / p.payload, f"encap ipip={n4}"),
        "encap-6in4": (V6, lambda p, i: eth(p, 0x0800) / outer_v4(p, 41) / p.payload, f"encap ip6in4={n6}"),
        "encap-4in6": (V4, lambda p, i: eth(p, 0x86DD) / outer_v6(p, 4) / p.payload, f"encap ip4in6={n4}"),
        "encap-teredo": (V6, lambda p, i: eth(p, 0x0800) / outer_v4(p, 17) /
                         UDP(sport=40000 if from_client(p) else 3544,
                             dport=3544 if from_client(p) else 40000) / p.payload,
                         f"encap teredo={n6}"),
    }


def fragments_v4(ip, size, ident):
    data = bytes(ip.payload)
    out = []
    for off in range(0, len(data), size):
        f = ip.copy()
        f.remove_payload()
        f.id = ident
        f.flags = "MF" if off + size < len(data) else 0
        f.frag = off // 8
        del f.len
        del f.chksum
        out.append(f / Raw(data[off:off + size]))
    return out


def v6_before_fragment_header(ip6):
    """The IPv6 header of `ip6` alone, its next header the fragment header."""
    h = ip6.copy()
    h.remove_payload()
    h.nh = 44
    del h.plen
    return h


def fragments_v6(ip6, size, ident):
    data = bytes(ip6.payload)
    out = []
    for off in range(0, len(data), size):
        out.append(v6_before_fragment_header(ip6) / IPv6ExtHdrFragment(nh=ip6.nh, offset=off // 8, m=1 if off + size < len(data) else 0,
                                          id=ident) / Raw(data[off:off + size]))
    return out


def altered(frag_ip):
    """The same fragment with its data replaced by X: an overlap that must lose."""
    f = frag_ip.copy()
    data = bytes(f[Raw].load)
    f[Raw].load = b"X" * len(data)
    if f.haslayer(IP):
        del f[IP].chksum
    return f


def fragmented(src, fragment_fn):
    """Every IP packet with more than 40 bytes of data (all but the SYNs and bare ACKs)
    cut into 40-byte fragments. The first such packet: fragments in reverse order. The
    second: its second and third fragments swapped. The next response head: after its
    first two fragments, a copy of the second with other bytes, which covers the status
    code (an overlap: the first copy must win, or the exchange changes). Returns the frames, the datagrams fragmented and the
    overlapping fragments."""
    frames = []
    datagrams = 0
    overlaps = 0
    shuffled = []
    for i, (t, p) in enumerate(inner(src)):
        ip = p.payload
        if len(bytes(ip.payload)) <= 40:
            frames.append((t, bytes(p)))
            continue
        frags = fragment_fn(ip, 40, 0x4000 + i)
        datagrams += 1
        if not shuffled:
            frags = frags[::-1]
            shuffled.append("reversed")
        elif len(shuffled) == 1 and len(frags) >= 3:
            frags[1], frags[2] = frags[2], frags[1]
            shuffled.append("swapped")
        elif len(shuffled) == 2 and len(frags) >= 3 and bytes(ip.payload.payload).startswith(b"HTTP/"):
            frags.insert(2, altered(frags[1]))
            overlaps += 1
            shuffled.append("overlap")
        for f in frags:
            frames.append((t, bytes(Ether(src=p.src, dst=p.dst, type=p.type) / f)))
    return frames, datagrams, overlaps


def atomic_v6(src):
    frames = []
    for i, (t, p) in enumerate(inner(src)):
        ip6 = p.payload
        frames.append((t, bytes(Ether(src=p.src, dst=p.dst, type=p.type) / v6_before_fragment_header(ip6) /
                                IPv6ExtHdrFragment(nh=ip6.nh, offset=0, m=0, id=0x5000 + i) / ip6.payload)))
    return frames


CHECK = False


def tshark_check(name):
    """The request URIs and response statuses Wireshark decodes, in order, must be those of
    the expected exchanges."""
    out = subprocess.run(["tshark", "-r", os.path.join(PCAPS, name + ".pcap"), "-Y", "http",
                          "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code"],
                         capture_output=True, text=True, check=True).stdout
    seen = [w for line in out.splitlines() for w in line.split("\t") if w]
    with open(os.path.join(PCAPS, name + ".expected.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    want = [w for r in rows for w in (r["uri"], str(r["status"]))]
    if seen != want:
        sys.exit(f"tshark disagrees on {name}: {seen} != {want}")
    print(f"  tshark agrees: {len(rows)} exchanges")


def emit(name, src, linktype, frames, summary):
    write_pcap(os.path.join(PCAPS, name + ".pcap"), linktype, frames)
    shutil.copyfile(os.path.join(PCAPS, src + ".expected.jsonl"),
                    os.path.join(PCAPS, name + ".expected.jsonl"))
    with open(os.path.join(PCAPS, name + ".summary"), "w") as f:
        f.write("\n".join(summary) + "\n")
    print(f"made pcaps/{name}.pcap ({len(frames)} frames) from {src}.pcap")
    if CHECK:
        tshark_check(name)


def main():
    global CHECK
    CHECK = "--check" in sys.argv[1:]
    wanted = set(a for a in sys.argv[1:] if a != "--check")
    n4 = len(inner(V4))
    n6 = len(inner(V6))
    for name, (src, fn, line) in ether_kinds().items():
        if wanted and name not in wanted:
            continue
        n = n4 if src == V4 else n6
        emit(name, src, LINKTYPE_ETHERNET, wrap_all(src, fn), [line, f"tcp={n} skipped=0"])
    jobs = {
        "link-nflog": lambda: emit("link-nflog", V4, LINKTYPE_NFLOG,
                                   [(t, nflog_frame(bytes(p.payload), 2)) for t, p in inner(V4)],
                                   [f"tcp={n4} skipped=0"]),
        "link-null": lambda: emit("link-null", V6, LINKTYPE_NULL,
                                  [(t, struct.pack("<I", 24) + bytes(p.payload)) for t, p in inner(V6)],
                                  [f"tcp={n6} skipped=0"]),
        "ip6-atomic-fragment": lambda: emit("ip6-atomic-fragment", V6, LINKTYPE_ETHERNET, atomic_v6(V6),
                                            [f"tcp={n6} skipped=0", f"ip_fragments fragments=0 atomic={n6}"]),
    }
    for name, fragment_fn, src, n in (("ip-fragments-v4", fragments_v4, V4, n4),
                                      ("ip-fragments-v6", fragments_v6, V6, n6)):
        def job(name=name, fragment_fn=fragment_fn, src=src, n=n):
            frames, datagrams, overlaps = fragmented(src, fragment_fn)
            emit(name, src, LINKTYPE_ETHERNET, frames,
                 [f"tcp={n} skipped={len(frames) - n} ip_fragment={len(frames) - n}",
                  f"ip_fragments fragments={len(frames) - (n - datagrams)} reassembled={datagrams} "
                  f"overlaps={overlaps} timed_out=0 evicted=0 dropped=0 pending=0"])
        jobs[name] = job
    for name, job in jobs.items():
        if not wanted or name in wanted:
            job()


if __name__ == "__main__":
    main()
