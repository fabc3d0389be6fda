#!/usr/bin/python3
"""Writes a classic pcap of synthetic HTTP/1.1 keep-alive traffic for the Kafka tests.

  gen_http_pcap.py OUT.pcap [--connections C] [--requests R] [--body BYTES] [--empty]

C connections (client 10.20.0.x:port, server 10.30.0.1:8080), each with a handshake, R
request/response exchanges and a FIN close, interleaved round-robin; every 7th response
is a 503 (a failed exchange), the rest 200. Response bodies are BYTES long. Packet times
advance 1 ms per packet from a fixed epoch, so the file is the same on every run.
--empty writes just the file header (a capture with no packets).
"""
import argparse
import struct

EPOCH = 1_700_000_000


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_bytes(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


def frame(src, sport, dst, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0) + payload
    pseudo = ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     ip_bytes(src), ip_bytes(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def connection(index, requests, body):
    """Yields the frames of one connection, one exchange at a time (lists of frames)."""
    client = "10.20.0.%d" % (1 + index % 250)
    cport = 40000 + index
    server, sport = "10.30.0.1", 8080
    cseq, sseq = 1000 + index * 7919, 5000 + index * 104729
    yield [frame(client, cport, server, sport, cseq, 0, SYN),
           frame(server, sport, client, cport, sseq, cseq + 1, SYN | ACK),
           frame(client, cport, server, sport, cseq + 1, sseq + 1, ACK)]
    cseq += 1
    sseq += 1
    for r in range(requests):
        status = 503 if (index * requests + r) % 7 == 3 else 200
        reason = b"Service Unavailable" if status == 503 else b"OK"
        req = (b"GET /api/items/%d/%d HTTP/1.1\r\nHost: shop.example\r\n"
               b"User-Agent: gen/1\r\nX-Request-Id: req-%d-%d\r\n\r\n" % (index, r, index, r))
        content = (b"x%05d-" % r) * (body // 7) + b"y" * (body % 7)
        resp = (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                % (status, reason, len(content))) + content
        frames = [frame(client, cport, server, sport, cseq, sseq, PSH | ACK, req)]
        cseq += len(req)
        for off in range(0, len(resp), 1400):
            chunk = resp[off:off + 1400]
            frames.append(frame(server, sport, client, cport, sseq, cseq, PSH | ACK, chunk))
            sseq += len(chunk)
        frames.append(frame(client, cport, server, sport, cseq, sseq, ACK))
        yield frames
    yield [frame(client, cport, server, sport, cseq, sseq, FIN | ACK),
           frame(server, sport, client, cport, sseq, cseq + 1, FIN | ACK),
           frame(client, cport, server, sport, cseq + 1, sseq + 1, ACK)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--requests", type=int, default=25)
    ap.add_argument("--body", type=int, default=200)
    ap.add_argument("--empty", action="store_true")
    args = ap.parse_args()
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        if args.empty:
            return
        conns = [connection(i, args.requests, args.body) for i in range(args.connections)]
        t = 0
        while conns:
            alive = []
            for conn in conns:
                step = next(conn, None)
                if step is None:
                    continue
                alive.append(conn)
                for fr in step:
                    t += 1000
                    f.write(struct.pack("<IIII", EPOCH + t // 1_000_000, t % 1_000_000,
                                        len(fr), len(fr)) + fr)
            conns = alive


if __name__ == "__main__":
    main()
