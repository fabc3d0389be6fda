#!/usr/bin/python3
"""Writes a pcap of one HTTP/1.1 exchange whose response body is a gzip bomb: MIB
mebibytes of zeros compressed (about a thousandth of that on the wire), with
Content-Encoding: gzip and its Content-Length, then FIN from both sides. Used by the
memory flood test: decoding the body for the record must stay bounded by --max-body.
Usage: gen_gzip_bomb.py OUT.pcap [MIB]
"""
import struct
import sys
import zlib

MSS = 1448
CLIENT, SERVER = bytes([10, 100, 0, 1]), bytes([10, 99, 0, 1])
CPORT, SPORT = 40000, 80


def bomb(mib):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    zeros = bytes(1 << 20)
    out = [z.compress(zeros) for _ in range(mib)]
    out.append(z.flush())
    return b"".join(out)


class Pcap:
    def __init__(self, f):
        self.f = f
        self.ts = 1_700_000_000 * 1_000_000
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

    def segment(self, to_server, seq, ack, flags, payload=b""):
        self.ts += 10
        src, dst = (CLIENT, SERVER) if to_server else (SERVER, CLIENT)
        sport, dport = (CPORT, SPORT) if to_server else (SPORT, CPORT)
        eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0, src, dst)
        pkt = eth + ip + tcp + payload
        self.f.write(struct.pack("<IIII", self.ts // 1_000_000, self.ts % 1_000_000,
                                 len(pkt), len(pkt)))
        self.f.write(pkt)


def main():
    out = sys.argv[1]
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    body = bomb(mib)
    req = b"GET /bomb HTTP/1.1\r\nHost: bomb.example\r\nAccept-Encoding: gzip\r\n\r\n"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)
    c, s = 1000, 5000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    with open(out, "wb") as f:
        p = Pcap(f)
        p.segment(True, c, 0, SYN)
        p.segment(False, s, c + 1, SYN | ACK)
        p.segment(True, c + 1, s + 1, ACK)
        p.segment(True, c + 1, s + 1, ACK | PSH, req)
        c_end = c + 1 + len(req)
        for off in range(0, len(resp), MSS):
            p.segment(False, s + 1 + off, c_end, ACK | PSH, resp[off:off + MSS])
        s_end = s + 1 + len(resp)
        p.segment(True, c_end, s_end, FIN | ACK)
        p.segment(False, s_end, c_end + 1, FIN | ACK)
        p.segment(True, c_end + 1, s_end + 1, ACK)


if __name__ == "__main__":
    main()
