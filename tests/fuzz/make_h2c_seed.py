#!/usr/bin/python3
"""Writes tests/fuzz/corpus/seed-frames-h2c-session: a FRAMES-mode input of
fuzz_pipeline.cpp (mode byte 0x06: raw IPv4 link) holding one h2c connection with prior
knowledge, so that the fuzz target starts from the HTTP/2 path: handshake, server
SETTINGS, client preface, a GET on stream 1 (padded HEADERS), a gRPC call on stream 3
(HEADERS + CONTINUATION, DATA, trailers), a reset stream 5, a GOAWAY, then FIN.
Header blocks are HPACK written by hand (static table indices and literals).
Also writes seed-frames-h2c-mid-stream: the same connection picked up mid-stream (no
handshake, the capture starts 5 bytes into the client's second data segment, inside a
frame, and the server's first answer is not in it), so that the fuzz target starts from
the frame boundary search, the roles told by the frames, a response-only stream and
HPACK decoding without the dynamic table (offpath: picked_up=1 resyncs=2
hpack_errors=1)."""
import os
import struct

def h2frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload

def lit(name, value):  # literal with incremental indexing, new name
    return b"\x40" + bytes([len(name)]) + name + bytes([len(value)]) + value

def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0x1234, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    return ip + tcp + payload

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
C, S = [10, 1, 0, 1], [10, 1, 0, 2]
seq = {"c": 100, "s": 9000}
frames = []
mid_stream = []  # the packets of the second seed


def keep_mid_stream(pkt, cut=0):
    """Adds a packet to the mid-stream seed, less the first `cut` payload bytes."""
    if cut:
        ihl = (pkt[0] & 0x0F) * 4
        payload = ihl + (pkt[ihl + 12] >> 4) * 4
        seq = struct.unpack_from(">I", pkt, ihl + 4)[0] + cut
        pkt = bytearray(pkt[:payload] + pkt[payload + cut:])
        struct.pack_into(">I", pkt, ihl + 4, seq)
        struct.pack_into(">H", pkt, 2, len(pkt))
    mid_stream.append(struct.pack(">HB", len(pkt), 1) + bytes(pkt))

def send(side, flags, payload=b""):
    if side == "c":
        pkt = ipv4_tcp(C, S, 33002, 8080, seq["c"], seq["s"], flags, payload)
        seq["c"] += len(payload) + (1 if flags & (SYN | FIN) else 0)
    else:
        pkt = ipv4_tcp(S, C, 8080, 33002, seq["s"], seq["c"], flags, payload)
        seq["s"] += len(payload) + (1 if flags & (SYN | FIN) else 0)
    frames.append(struct.pack(">HB", len(pkt), 1) + pkt)
    return pkt

get = b"\x82\x86\x84" + lit(b":authority", b"h")
grpc_req = b"\x83\x86" + lit(b":path", b"/pkg.Svc/Call") + b"\x5f\x10application/grpc"
send("c", SYN)
send("s", SYN | ACK)
send("c", ACK)
send("s", PSH | ACK, h2frame(4, 0, 0, b"\x00\x01\x00\x00\x10\x00"))
send("c", PSH | ACK, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2frame(4, 0, 0, b"") +
     h2frame(1, 0x0D, 1, b"\x02" + get + b"\x00\x00"))
keep_mid_stream(send("c", PSH | ACK, h2frame(1, 0x00, 3, grpc_req[:6]) +
                     h2frame(9, 0x04, 3, grpc_req[6:]) +
                     h2frame(0, 0x01, 3, b"\x00\x00\x00\x00\x02hi")), cut=5)
send("s", PSH | ACK, h2frame(4, 0x01, 0, b"") + h2frame(1, 0x04, 1, b"\x88") +
     h2frame(0, 0x01, 1, b"hello"))  # lost in the mid-stream seed
for pkt in [
    send("s", PSH | ACK, h2frame(1, 0x04, 3, b"\x88\x5f\x10application/grpc") +
         h2frame(1, 0x05, 3, lit(b"grpc-status", b"14") + lit(b"grpc-message", b"down"))),
    send("c", PSH | ACK, h2frame(1, 0x05, 5, b"\x82\x86\x84\xbe") +
         h2frame(3, 0, 5, b"\x00\x00\x00\x08") + h2frame(6, 0, 0, b"pingpong") +
         h2frame(8, 0, 0, b"\x00\x00\x10\x00")),
    send("s", PSH | ACK, h2frame(7, 0, 0, b"\x00\x00\x00\x03\x00\x00\x00\x00")),
    send("c", FIN | ACK),
    send("s", FIN | ACK),
    send("c", ACK),
]:
    keep_mid_stream(pkt)

corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
for name, packets in (("seed-frames-h2c-session", frames), ("seed-frames-h2c-mid-stream", mid_stream)):
    out = os.path.join(corpus, name)
    with open(out, "wb") as f:
        f.write(b"\x06" + b"".join(packets))
    print(out)
