#!/usr/bin/python3
"""Socket clients for the captures that curl cannot make.

Usage: clients.py SCENARIO HOST PORT
  pipelined   three GETs written in one send() before any response is read
  tunnel      CONNECT 127.0.0.1:9000, then length-prefixed binary frames
  obsfold     a GET with an obs-fold (continuation line) header
  garbage     binary bytes that are not HTTP, then read until the server closes
  websocket   python3-websockets client: Upgrade, two messages, close handshake
  te-cl       GET /faulty/te-cl (Transfer-Encoding and Content-Length), then GET /index.html
  http12      GET /faulty/http12 (an HTTP/1.2 status line), then GET /index.html
  bad-status  GET /faulty/bad-status (a two-digit status code; the server closes)
  broken-404  GET /faulty/broken-404 (a 404 whose header block breaks; the server closes)

Each client uses a real TCP socket, bounds every wait with a timeout, prints what
it received in one line per message to stdout, and exits non-zero if the server's
answer is not the one the scenario expects.
"""

import socket
import struct
import sys

TIMEOUT = 5.0


def connect(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    return s


def read_until_close(s, limit=1 << 20):
    data = b""
    while len(data) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def status_lines(data):
    """Status lines of the responses in data, framed by Content-Length (the
    origin's answers to these clients always carry one)."""
    lines = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        fields = head.split(b"\r\n")
        lines.append(fields[0])
        length = 0
        for field in fields[1:]:
            name, _, value = field.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = rest[length:]
    return lines


def request(method, uri, host, extra=b""):
    return (b"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: offpath-recorder/1.0\r\n"
            b"Accept: */*\r\n%s\r\n" % (method, uri, host, extra))


def pipelined(host, port):
    hosthdr = host_header(host, port)
    batch = (request(b"GET", b"/index.html", hosthdr)
             + request(b"GET", b"/style.css", hosthdr)
             + request(b"GET", b"/api/items?page=3", hosthdr, b"Connection: close\r\n"))
    with connect(host, port) as s:
        s.sendall(batch)  # one send(): all three requests before any response
        got = read_until_close(s)
    lines = status_lines(got)
    print("\n".join(line.decode() for line in lines))
    return len(lines) == 3 and all(line.split()[1] == b"200" for line in lines)


def read_idle(s, idle=0.3):
    """Reads until the peer closes or sends nothing for `idle` seconds."""
    data = b""
    s.settimeout(idle)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.settimeout(TIMEOUT)
    return data


def faulty(host, port, path, then_index):
    """GET `path` (an origin route that answers wrongly); with then_index, one more
    GET /index.html on the same connection, asking it to close."""
    hosthdr = host_header(host, port)
    with connect(host, port) as s:
        s.sendall(request(b"GET", path, hosthdr))
        got = read_idle(s) if then_index else read_until_close(s)
        print("first answer starts %r" % got[:40])
        if not got:
            return False
        if then_index:
            s.sendall(request(b"GET", b"/index.html", hosthdr, b"Connection: close\r\n"))
            rest = read_until_close(s)
            print("second answer starts %r" % rest[:40])
            return rest.startswith(b"HTTP/1.1 200")
    return True


def te_cl(host, port):
    return faulty(host, port, b"/faulty/te-cl", True)


def http12(host, port):
    return faulty(host, port, b"/faulty/http12", True)


def bad_status(host, port):
    return faulty(host, port, b"/faulty/bad-status", False)


def broken_404(host, port):
    return faulty(host, port, b"/faulty/broken-404", False)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def tunnel(host, port):
    target = b"127.0.0.1:9000"
    with connect(host, port) as s:
        s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: offpath-recorder/1.0\r\n"
                  b"Proxy-Connection: keep-alive\r\n\r\n" % (target, target))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                return False
            head += chunk
        print(head.split(b"\r\n")[0].decode())
        if head.split()[1] != b"200":
            return False
        greeting = recv_exact(s, 4)
        greeting += recv_exact(s, struct.unpack("!I", greeting)[0])
        print("greeting", greeting.hex())
        for payload in (b"\x01\x02\x03\x04\x00\xffopaque-1", b"\xde\xad\xbe\xef" * 8):
            s.sendall(struct.pack("!I", len(payload)) + payload)
            hdr = recv_exact(s, 4)
            answer = recv_exact(s, struct.unpack("!I", hdr)[0])
            print("answer", answer.hex())
            if answer != bytes(reversed(payload)):
                return False
        s.shutdown(socket.SHUT_WR)
        read_until_close(s)
    return True


def obsfold(host, port):
    extra = (b"X-Folded: first part,\r\n"
             b"    second part\r\n"
             b"Connection: close\r\n")
    with connect(host, port) as s:
        s.sendall(request(b"GET", b"/folded", host_header(host, port), extra))
        got = read_until_close(s)
    lines = status_lines(got)
    print("\n".join(line.decode() for line in lines))
    return len(lines) == 1 and lines[0].split()[1] == b"200"


def garbage(host, port):
    # Bytes in the shape of a TLS record (a client speaking TLS to a plain HTTP
    # port), with no whitespace inside and one line break at the end.
    junk = bytes.fromhex("160301009b010000970303") + bytes(
        (i * 37 + 101) % 256 for i in range(64))
    junk = bytes(b for b in junk if b not in b"\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\x85\xa0")
    with connect(host, port) as s:
        s.sendall(junk + b"\r\n")
        got = read_until_close(s)
    print("server answered %d bytes, first line %r" % (len(got), got.split(b"\n")[0][:60]))
    return True


def websocket(host, port):
    import asyncio
    import websockets

    async def run():
        uri = "ws://%s/chat" % host_header(host, port).decode()
        async with websockets.connect(uri, compression=None, open_timeout=TIMEOUT,
                                      close_timeout=TIMEOUT) as ws:
            await ws.send("hello over websocket")
            print("text", await asyncio.wait_for(ws.recv(), TIMEOUT))
            await ws.send(bytes(range(16)))
            print("binary", (await asyncio.wait_for(ws.recv(), TIMEOUT)).hex())
        return True

    return asyncio.run(run())


def host_header(host, port):
    name = "[%s]" % host if ":" in host else host
    return ("%s:%d" % (name, port)).encode()


SCENARIOS = {
    "pipelined": pipelined,
    "tunnel": tunnel,
    "obsfold": obsfold,
    "garbage": garbage,
    "websocket": websocket,
    "te-cl": te_cl,
    "http12": http12,
    "bad-status": bad_status,
    "broken-404": broken_404,
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 2
    ok = SCENARIOS[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
