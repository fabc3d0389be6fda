#!/usr/bin/env python3
"""Backend of the live-capture gateway test: a small HTTP/1.1 server with one path per
scripted outcome. Usage: backend.py ADDRESS PORT [NAME]

Every response carries X-Echo-Uri (the request URI as received, after any rewrite by the
gateway) and X-Backend (NAME), so a record of either leg says which request it served and
where. The outcome is chosen by the last path segment, so /ok, /v1/ok and /retry/ok are
the same: ok 200, error 500, unavail 503, slow (3 s, past the gateway's read timeout),
reset-head (a RST in the middle of the status line), reset-body (a RST in the middle of
the body); anything else 404."""
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = bytes((ord("a") + (i * 7 + i // 1000) % 26) for i in range(1 << 20))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("X-Backend-Uri", self.path)  # the request it answers
        self.send_header("X-Echo-Uri", self.path)
        self.send_header("X-Backend", NAME)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: two small writes would meet Nagle and the
        # peer's delayed ACK, and every response would take 40 ms.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def reset(self, partial):
        """Sends the first bytes of a response, then resets the connection (linger 0)."""
        self.wfile.write(partial)
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Closed here, before the server's own shutdown(SHUT_WR) could send a FIN first.
        self.wfile.close()
        self.rfile.close()
        self.connection.close()
        raise ResetDone()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        last = "/" + path.rsplit("/", 1)[-1]
        if last == "/reset-head":
            self.reset(b"HTTP/1.1 200 OK\r\nContent-")
        elif last == "/reset-body":
            self.reset(b"HTTP/1.1 200 OK\r\nX-Echo-Uri: " + self.path.encode() +
                       b"\r\nContent-Length: 4096\r\n\r\n" + b"x" * 512)
        elif path == "/big":
            self.reply(200, BIG, "application/octet-stream")
        elif last == "/ok":
            self.reply(200, b"ok\n")
        elif last == "/error":
            self.reply(500, b"backend error\n")
        elif last == "/unavail":
            self.reply(503, b"backend unavailable\n")
        elif last == "/slow":
            time.sleep(3)
            self.reply(200, b"slow\n")
        else:
            self.reply(404, b"not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.reply(200, b"echo:" + body)


class ResetDone(Exception):
    """Raised after a reset() response, whose socket is already closed (with RST)."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ResetDone, ConnectionError)):
            super().handle_error(request, client_address)


NAME = sys.argv[3] if len(sys.argv) > 3 else "backend"

if __name__ == "__main__":
    server = Server((sys.argv[1], int(sys.argv[2])), Handler)
    server.serve_forever()
