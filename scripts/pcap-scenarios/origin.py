#!/usr/bin/python3
"""Origin server for the recorded captures in pcaps/.

A python3 http.server (ThreadingHTTPServer) with one route per behaviour that a
capture needs: keep-alive 200s, POST bodies, chunked bodies with extensions and
trailers, 1xx interim responses, 204/304, an RST or a FIN instead of a response, a
slow answer, HTTP/1.0
close-delimited bodies, repeated and folded headers, gzip/deflate bodies and a
CONNECT tunnel to a local opaque service. Everything it sends is written by the
standard library or by this file through the connection's socket; nothing here is
replayed from a file.

Usage: origin.py --bind ADDR --port N [--tunnel-port N]
  ADDR "::" listens on IPv4 and IPv6 (dual stack). With --tunnel-port, a small
  binary echo service listens on 127.0.0.1:N as the only allowed CONNECT target.
Runs until killed (SIGTERM).
"""

import argparse
import gzip
import http.server
import json
import select
import socket
import socketserver
import struct
import threading
import time
import zlib

HTML = b"""<!DOCTYPE html>
<html><head><title>offpath test origin</title>
<link rel="stylesheet" href="/style.css"></head>
<body><h1>It works</h1><p>Served by the offpath capture origin.</p></body></html>
"""
CSS = b"body { font-family: sans-serif; margin: 2em; }\nh1 { color: #204a87; }\n"
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
        b'<circle cx="8" cy="8" r="7" fill="#204a87"/></svg>\n')
LOGO_ETAG = '"5d41402abc4b2a76"'
TEXT = (b"offpath compressed body test. " * 12).strip() + b"\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "offpath-origin/1.0"

    # Quiet: the recording script keeps its own log.
    def log_message(self, fmt, *args):
        pass

    # -- helpers -----------------------------------------------------------
    def reply(self, code, body=b"", ctype="text/plain; charset=utf-8",
              headers=(), head=False):
        """Writes a complete response with Content-Length; the connection stays
        open unless the request asked to close it."""
        self.send_response(code)
        if code not in (204, 304):
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if not head and code not in (204, 304):
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def match_http10(self):
        """Answers an HTTP/1.0 request with an HTTP/1.0 status line."""
        if self.request_version == "HTTP/1.0":
            self.protocol_version = "HTTP/1.0"
            self.close_connection = True

    # -- methods -----------------------------------------------------------
    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        self.match_http10()
        path, _, query = self.path.partition("?")
        route = GET_ROUTES.get(path)
        if route is None and path.startswith("/search/"):
            route = Handler.get_search
        if route is None:
            body = b"<html><body><h1>404 Not Found</h1></body></html>\n"
            self.reply(404, body, "text/html", head=head)
            return
        route(self, query, head)

    def do_POST(self):
        path = self.path.partition("?")[0]
        body = self.read_body()
        if path == "/api/orders":
            doc = {"id": 1042, "status": "created", "received_bytes": len(body)}
            out = json.dumps(doc).encode() + b"\n"
            self.reply(201, out, "application/json",
                       headers=[("Location", "/api/orders/1042")])
        elif path == "/login":
            self.reply(200, b"welcome\n",
                       headers=[("Set-Cookie", "session=8f14e45fceea167a; Path=/; HttpOnly"),
                                ("Set-Cookie", "theme=dark; Path=/; Max-Age=3600")])
        elif path == "/upload":
            out = json.dumps({"stored": len(body)}).encode() + b"\n"
            self.reply(200, out, "application/json")
        else:
            self.reply(404, b"no such endpoint\n")

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        tunnel_port = self.server.tunnel_port
        if host != "127.0.0.1" or not tunnel_port or port != str(tunnel_port):
            self.reply(403, b"tunnel target not allowed\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", tunnel_port), timeout=5)
        except OSError:
            self.reply(502, b"tunnel target unreachable\n")
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.close_connection = True
        relay(self.connection, upstream)

    # -- GET routes --------------------------------------------------------
    def get_index(self, query, head):
        self.reply(200, HTML, "text/html; charset=utf-8", head=head)

    def get_style(self, query, head):
        self.reply(200, CSS, "text/css", head=head)

    def get_items(self, query, head):
        page = query.partition("page=")[2] or "1"
        doc = {"page": page, "items": [{"id": 1, "name": "lamp"}, {"id": 2, "name": "desk"}]}
        self.reply(200, json.dumps(doc).encode() + b"\n", "application/json", head=head)

    def get_fail(self, query, head):
        body = json.dumps({"error": "database unavailable"}).encode() + b"\n"
        self.reply(500, body, "application/json", head=head)

    def get_export(self, query, head):
        """Transfer-Encoding: chunked, one chunk per CSV row, flushed apart."""
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        rows = [b"id,name,price\n", b"1,lamp,19.90\n", b"2,desk,149.00\n", b"3,chair,59.50\n"]
        for row in rows:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(row), row))
            time.sleep(0.02)
        self.wfile.write(b"0\r\n\r\n")

    def get_report(self, query, head):
        """Chunked with chunk extensions and trailer fields."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "X-Checksum, X-Row-Count")
        self.end_headers()
        parts = [(b"part one\n", b";seq=1"), (b"part two\n", b';seq=2;note="second"'),
                 (b"part three\n", b";last")]
        digest = zlib.crc32(b"".join(p for p, _ in parts))
        for data, ext in parts:
            self.wfile.write(b"%x%s\r\n%s\r\n" % (len(data), ext, data))
            time.sleep(0.02)
        self.wfile.write(b"0\r\nX-Checksum: crc32=%08x\r\nX-Row-Count: 3\r\n\r\n" % digest)

    def get_reset(self, query, head):
        """No response: the server aborts the connection with an RST."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.server.abort.add(self.connection)

    def get_hangup(self, query, head):
        """No response: the server closes the connection normally (FIN)."""
        self.close_connection = True

    def get_slow(self, query, head):
        time.sleep(1.0)
        self.reply(200, b"finally\n", head=head)

    def get_early_hints(self, query, head):
        self.wfile.write(b"HTTP/1.1 103 Early Hints\r\n"
                         b"Link: </style.css>; rel=preload; as=style\r\n\r\n")
        time.sleep(0.05)
        self.reply(200, HTML, "text/html; charset=utf-8",
                   headers=[("Link", "</style.css>; rel=preload; as=style")], head=head)

    def get_heartbeat(self, query, head):
        self.reply(204)

    def get_logo(self, query, head):
        if self.headers.get("If-None-Match") == LOGO_ETAG:
            self.reply(304, headers=[("ETag", LOGO_ETAG), ("Cache-Control", "max-age=60")])
        else:
            self.reply(200, LOGO, "image/svg+xml",
                       headers=[("ETag", LOGO_ETAG), ("Cache-Control", "max-age=60")], head=head)

    def get_stream(self, query, head):
        """HTTP/1.0 response with no Content-Length: the body ends when the
        server closes the connection."""
        self.protocol_version = "HTTP/1.0"
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        for i in range(3):
            self.wfile.write(b"event %d: temperature=%d\n" % (i, 20 + i))
            time.sleep(0.02)

    def get_folded(self, query, head):
        """Echoes the folded request header and sends a folded one back."""
        got = " ".join((self.headers.get("X-Folded") or "").split())
        body = ("x-folded=" + got + "\n").encode()
        self.reply(200, body, headers=[("X-Folded-Reply", "first part,\r\n\tsecond part")])

    def get_search(self, query, head):
        trace = self.headers.get("X-Trace-Context") or ""
        body = json.dumps({"uri_bytes": len(self.path), "trace_bytes": len(trace)}).encode()
        self.reply(200, body + b"\n", "application/json", head=head)

    # Responses real servers get wrong (written raw, as such a server would).
    def get_te_cl(self, query, head):
        """Both Transfer-Encoding: chunked and a Content-Length that disagrees with it
        (5 against 12 chunk bytes); the connection stays open."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         b"c\r\nhello chunk!\r\n0\r\n\r\n")

    def get_http12(self, query, head):
        """A status line with version HTTP/1.2; the connection stays open."""
        self.wfile.write(b"HTTP/1.2 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 3\r\n\r\nok\n")

    def get_bad_status(self, query, head):
        """A two-digit status code, then the connection is closed."""
        self.close_connection = True
        self.wfile.write(b"HTTP/1.1 20 OK\r\nContent-Length: 3\r\n\r\nok\n")

    def get_broken_404(self, query, head):
        """A valid 404 status line followed by a header line without a colon."""
        self.close_connection = True
        self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n"
                         b"Bad Header Line\r\n\r\nno\n")

    def get_compressed(self, query, head):
        coding = self.path.rsplit("/", 1)[-1]
        data = gzip.compress(TEXT, mtime=0) if coding == "gzip" else zlib.compress(TEXT)
        self.reply(200, data, "text/plain; charset=utf-8",
                   headers=[("Content-Encoding", coding), ("Vary", "Accept-Encoding")],
                   head=head)


GET_ROUTES = {
    "/faulty/te-cl": Handler.get_te_cl,
    "/faulty/http12": Handler.get_http12,
    "/faulty/bad-status": Handler.get_bad_status,
    "/faulty/broken-404": Handler.get_broken_404,
    "/": Handler.get_index,
    "/index.html": Handler.get_index,
    "/style.css": Handler.get_style,
    "/api/items": Handler.get_items,
    "/api/fail": Handler.get_fail,
    "/api/export": Handler.get_export,
    "/report": Handler.get_report,
    "/reset": Handler.get_reset,
    "/hangup": Handler.get_hangup,
    "/slow": Handler.get_slow,
    "/early-hints": Handler.get_early_hints,
    "/api/heartbeat": Handler.get_heartbeat,
    "/logo.svg": Handler.get_logo,
    "/stream": Handler.get_stream,
    "/folded": Handler.get_folded,
    "/text/gzip": Handler.get_compressed,
    "/text/deflate": Handler.get_compressed,
}


def relay(a, b, idle=5.0):
    """Copies bytes both ways until either side closes or goes idle."""
    socks = [a, b]
    try:
        while True:
            ready, _, _ = select.select(socks, [], [], idle)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    finally:
        b.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, tunnel_port):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.abort = set()
        self.tunnel_port = tunnel_port
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def shutdown_request(self, request):
        if request in self.abort:
            # SO_LINGER 0 is set: close() sends an RST, no FIN first.
            self.abort.discard(request)
            request.close()
            return
        super().shutdown_request(request)


class TunnelTarget(socketserver.ThreadingTCPServer):
    """A binary request/answer service (length-prefixed frames) used as the
    CONNECT target: opaque to an HTTP parser."""
    daemon_threads = True
    allow_reuse_address = True


class TunnelHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(5)
        s.sendall(b"\x00\x00\x00\x08OPQ1\x00\x01\xff\xfe")  # greeting frame
        try:
            while True:
                hdr = s.recv(4)
                if len(hdr) < 4:
                    return
                n = struct.unpack("!I", hdr)[0]
                data = b""
                while len(data) < n:
                    chunk = s.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                answer = bytes(reversed(data))
                s.sendall(struct.pack("!I", len(answer)) + answer)
        except OSError:
            return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="::")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--tunnel-port", type=int, default=0)
    args = ap.parse_args()
    if args.tunnel_port:
        target = TunnelTarget(("127.0.0.1", args.tunnel_port), TunnelHandler)
        threading.Thread(target=target.serve_forever, daemon=True).start()
    Server((args.bind, args.port), args.tunnel_port).serve_forever()


if __name__ == "__main__":
    main()
