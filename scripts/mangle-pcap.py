#!/usr/bin/python3
"""Makes the reassembly test captures from a real one: drops, swaps, duplicates, alters
or resets chosen frames, the way a lossy capture point or a misbehaving stack would.
Frames are numbered from 1 as tshark numbers them. Swaps apply first, then copies are
inserted after the frame they copy (wherever it now is), then drops and cuts.
Only classic little-endian pcap files with Ethernet + IPv4 + TCP frames are supported.

  mangle-pcap.py IN OUT [--drop N,..] [--swap N:M] [--dup N] [--dup-altered N]
                        [--keep-from N] [--rst N] [--end-after N] [--lose-head N:K]

--dup N         inserts a retransmitted copy of frame N right after it
--dup-altered N the same, with its last payload byte changed (an overlap conflict)
--rst N         turns frame N into an RST+ACK without payload
--keep-from N   drops every frame before N (a capture started mid-connection)
--end-after N   drops every frame after N (the capture ended there)
--lose-head N:K frame N loses its first K payload bytes (sequence number moved on), as if
                they had come in a segment of their own that the capture lost
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
    ap.add_argument("--lose-head", action="append", default=[])
    a = ap.parse_args()
    header, frames = read_pcap(a.src)
    tagged = [(i + 1, f) for i, f in enumerate(frames)]

    for n in a.rst:
        f = frames[n - 1]
        pkt = f[2]
        tcp, payload = tcp_offsets(pkt)
        del pkt[payload:]
        pkt[tcp + 13] = 0x14  # RST + ACK
        struct.pack_into("!H", pkt, 16, payload - 14)  # IPv4 total length
        f[3] = len(pkt)
    for spec in a.lose_head:
        n, k = (int(v) for v in spec.split(":"))
        f = frames[n - 1]
        pkt = f[2]
        tcp, payload = tcp_offsets(pkt)
        if not 0 < k < len(pkt) - payload:
            sys.exit(f"--lose-head {spec}: frame {n} has {len(pkt) - payload} payload bytes")
        del pkt[payload:payload + k]
        seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
        struct.pack_into("!I", pkt, tcp + 4, (seq + k) & 0xFFFFFFFF)
        struct.pack_into("!H", pkt, 16, len(pkt) - 14)  # IPv4 total length
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
        pos = next(i for i, (num, _) in enumerate(tagged) if num == n)
        tagged.insert(pos + 1, (None, copy))
    drop = {int(v) for v in a.drop.split(",") if v}
    kept = [(num, f) for num, f in tagged if num not in drop]
    if a.keep_from:
        kept = [(num, f) for num, f in kept if num is None or num >= a.keep_from]
    if a.end_after:
        kept = [(num, f) for num, f in kept if num is None or num <= a.end_after]
    with open(a.dst, "wb") as out:
        out.write(header)
        for _, (sec, usec, pkt, orig) in kept:
            out.write(struct.pack("<IIII", sec, usec, len(pkt), max(orig, len(pkt))))
            out.write(pkt)


if __name__ == "__main__":
    main()
