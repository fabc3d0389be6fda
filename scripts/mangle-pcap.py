#!/usr/bin/python3
"""Makes the reassembly test captures from a real one: drops, swaps, duplicates, alters
or resets chosen frames, the way a lossy capture point or a misbehaving stack would.
Frames are numbered from 1 as tshark numbers them. Swaps apply first, then copies are
inserted next to the frame they copy (wherever it now is), then drops and cuts, then
appended copies. New and altered frames keep the original checksums (offpath does not
check them; the injected frames of a real attack would be valid).
Only classic little-endian pcap files with Ethernet + IPv4 + TCP frames are supported.

  mangle-pcap.py IN OUT [--drop N,..] [--swap N:M] [--dup N] [--dup-altered N]
                        [--keep-from N] [--rst N] [--end-after N]
                        [--cut-head N:K] [--move-tail N:M:K] [--inject-rst N:DELTA]
                        [--keepalive-before N] [--copy-replacing N:OLD:NEW[:before]]
                        [--append N]

--dup N         inserts a retransmitted copy of frame N right after it
--dup-altered N the same, with its last payload byte changed (an overlap conflict)
--rst N         turns frame N into an RST+ACK without payload
--keep-from N   drops every frame before N (a capture started mid-connection)
--end-after N   drops every frame after N (the capture ended there)
--cut-head N:K  drops the first K payload bytes of frame N (its sequence number moves on
                by K): the capture point missed the start of that segment
--move-tail N:M:K  moves the last K payload bytes of frame N to the front of frame M (a
                stack that sends them late, with the next segment)
Payload edits (python3-scapy) recompute the IPv4 and TCP checksums; they apply first.
--inject-rst N:DELTA   inserts after frame N an RST+ACK from its sender, without payload,
                at frame N's next sequence number plus DELTA (0: exactly in the window)
--keepalive-before N   inserts before frame N a keep-alive probe from its sender: ACK,
                one byte 0x00 at frame N's sequence number minus one
--copy-replacing N:OLD:NEW[:before]   inserts after (or before) frame N a copy of it
                with the payload bytes OLD replaced by NEW (same length): an injected
                segment that disagrees with the real one
--append N      appends a copy of frame N after the last frame, 0.5 s apart (a late
                retransmission)
"""
import argparse
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        sys.exit(f"{path}: not a little-endian microsecond pcap")
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frames.append([sec, usec, bytearray(data[off + 16:off + 16 + incl]), orig])
        off += 16 + incl
    return data[:24], frames


def tcp_offsets(pkt):
    ihl = (pkt[14] & 0x0F) * 4
    tcp = 14 + ihl
    doff = (pkt[tcp + 12] >> 4) * 4
    return tcp, tcp + doff


def set_payload(f, payload, seq_delta):
    """Frame f with a new TCP payload and its sequence number moved by seq_delta; scapy
    rebuilds the lengths and checksums."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    pkt = Ether(bytes(f[2]))
    tcp = pkt[TCP]
    tcp.seq = (tcp.seq + seq_delta) % (1 << 32)
    tcp.remove_payload()
    tcp.add_payload(Raw(payload))
    del pkt[IP].len, pkt[IP].chksum, tcp.chksum
    f[2] = bytearray(bytes(pkt))
    f[3] = len(f[2])


def payload_of(f):
    return bytes(f[2][tcp_offsets(f[2])[1]:])
def insert_next_to(tagged, n, frame, after):
    pos = next(i for i, (num, _) in enumerate(tagged) if num == n)
    tagged.insert(pos + 1 if after else pos, (None, frame))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--drop", default="")
    ap.add_argument("--swap", action="append", default=[])
    ap.add_argument("--dup", type=int, action="append", default=[])
    ap.add_argument("--dup-altered", type=int, action="append", default=[])
    ap.add_argument("--rst", type=int, action="append", default=[])
    ap.add_argument("--keep-from", type=int)
    ap.add_argument("--end-after", type=int)
    ap.add_argument("--cut-head", action="append", default=[])
    ap.add_argument("--move-tail", action="append", default=[])
    ap.add_argument("--inject-rst", action="append", default=[])
    ap.add_argument("--keepalive-before", type=int, action="append", default=[])
    ap.add_argument("--copy-replacing", action="append", default=[])
    ap.add_argument("--append", type=int, action="append", default=[])
    a = ap.parse_args()
    header, frames = read_pcap(a.src)
    for spec in a.cut_head:
        n, k = (int(v) for v in spec.split(":"))
        set_payload(frames[n - 1], payload_of(frames[n - 1])[k:], k)
    for spec in a.move_tail:
        n, m, k = (int(v) for v in spec.split(":"))
        tail = payload_of(frames[n - 1])[-k:]
        set_payload(frames[n - 1], payload_of(frames[n - 1])[:-k], 0)
        set_payload(frames[m - 1], tail + payload_of(frames[m - 1]), -k)
    tagged = [(i + 1, f) for i, f in enumerate(frames)]

    for n in a.rst:
        f = frames[n - 1]
        pkt = f[2]
        tcp, payload = tcp_offsets(pkt)
        del pkt[payload:]
        pkt[tcp + 13] = 0x14  # RST + ACK
        struct.pack_into("!H", pkt, 16, payload - 14)  # IPv4 total length
        f[3] = len(pkt)
    for pair in a.swap:
        x, y = (int(v) for v in pair.split(":"))
        i = next(k for k, (num, _) in enumerate(tagged) if num == x)
        j = next(k for k, (num, _) in enumerate(tagged) if num == y)
        tagged[i], tagged[j] = tagged[j], tagged[i]
    for n in a.dup + a.dup_altered:
        f = frames[n - 1]
        copy = [f[0], f[1] + 1, bytearray(f[2]), f[3]]
        if n in a.dup_altered:
            copy[2][-1] ^= 0x20
        insert_next_to(tagged, n, copy, after=True)
    for spec in a.inject_rst:
        n, delta = (int(v) for v in spec.split(":"))
        f = frames[n - 1]
        pkt = bytearray(f[2])
        tcp, payload = tcp_offsets(pkt)
        seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
        syn_fin = 1 if pkt[tcp + 13] & 0x03 else 0
        struct.pack_into("!I", pkt, tcp + 4, (seq + len(pkt) - payload + syn_fin + delta) % 2**32)
        del pkt[payload:]
        pkt[tcp + 13] = 0x14  # RST + ACK
        struct.pack_into("!H", pkt, 16, payload - 14)
        insert_next_to(tagged, n, [f[0], f[1] + 1, pkt, len(pkt)], after=True)
    for n in a.keepalive_before:
        f = frames[n - 1]
        pkt = bytearray(f[2])
        tcp, payload = tcp_offsets(pkt)
        seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
        struct.pack_into("!I", pkt, tcp + 4, (seq - 1) % 2**32)
        del pkt[payload:]
        pkt += b"\x00"
        pkt[tcp + 13] = 0x10  # ACK
        struct.pack_into("!H", pkt, 16, len(pkt) - 14)
        insert_next_to(tagged, n, [f[0], max(f[1] - 1, 0), pkt, len(pkt)], after=False)
    for spec in a.copy_replacing:
        n, old, new, *where = spec.split(":")
        if len(old) != len(new):
            sys.exit("--copy-replacing: OLD and NEW must have the same length")
        f = frames[int(n) - 1]
        pkt = bytearray(f[2])
        _, payload = tcp_offsets(pkt)
        at = pkt.find(old.encode(), payload)
        if at < 0:
            sys.exit(f"--copy-replacing: '{old}' is not in frame {n}'s payload")
        pkt[at:at + len(old)] = new.encode()
        before = where == ["before"]
        insert_next_to(tagged, int(n), [f[0], f[1] + (-1 if before else 1), pkt, f[3]],
                       after=not before)
    drop = {int(v) for v in a.drop.split(",") if v}
    kept = [(num, f) for num, f in tagged if num not in drop]
    if a.keep_from:
        kept = [(num, f) for num, f in kept if num is None or num >= a.keep_from]
    if a.end_after:
        kept = [(num, f) for num, f in kept if num is None or num <= a.end_after]
    for n in a.append:
        f = frames[n - 1]
        prev = kept[-1][1]
        t = prev[0] * 1_000_000 + prev[1] + 500_000
        kept.append((None, [t // 1_000_000, t % 1_000_000, bytearray(f[2]), f[3]]))
    with open(a.dst, "wb") as out:
        out.write(header)
        for _, (sec, usec, pkt, orig) in kept:
            out.write(struct.pack("<IIII", sec, usec, len(pkt), max(orig, len(pkt))))
            out.write(pkt)


if __name__ == "__main__":
    main()
