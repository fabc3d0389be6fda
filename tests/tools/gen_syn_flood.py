#!/usr/bin/python3
"""Writes a pcap of N half-open TCP connections (one SYN each, distinct client address
and port, one server), as a flood that never completes a handshake. Used by the memory
bound test: replaying it must keep offpath's resident memory under the configured total.
With OOO_BYTES > 0 each connection also sends one data segment of that size beyond a
hole (never filled), so that every flow holds out-of-order bytes.
Usage: gen_syn_flood.py OUT.pcap [N] [OOO_BYTES]
"""
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    ooo = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    filler = b"x" * ooo
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    server = bytes([10, 99, 0, 1])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            client = bytes([10, 100 + (i >> 24 & 0x3F), i >> 16 & 0xFF, i >> 8 & 0xFF])
            sport = 1024 + (i & 0xFF) * 200 + (i >> 8) % 200
            ts = 1_700_000_000 * 1_000_000 + i * 10  # 100,000 SYNs per second of packet time
            segments = [(1000 + i, 0x02, b"")]
            if ooo:
                segments.append((1000 + i + 1 + 100, 0x18, filler))  # 100-byte hole first
            for seq, flags, payload in segments:
                tcp = struct.pack("!HHIIBBHHH", sport, 80, seq & 0xFFFFFFFF, 0, 5 << 4, flags,
                                  64240, 0, 0)
                total = 40 + len(payload)
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, i & 0xFFFF, 0, 64, 6, 0,
                                 client, server)
                ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
                pkt = eth + ip + tcp + payload
                f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(pkt), len(pkt)))
                f.write(pkt)


if __name__ == "__main__":
    main()
