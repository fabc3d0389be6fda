#!/usr/bin/env python3
"""Backend of the live-capture gateway test: a small HTTP/1.1 server with one path per
scripted outcome. Usage: backend.py ADDRESS PORT"""
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
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: two small writes would meet Nagle and the
        # peer's delayed ACK, and every response would take 40 ms.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            self.reply(200, b"ok\n")
        elif path == "/error":
            self.reply(500, b"backend error\n")
        elif path == "/big":
            self.reply(200, BIG, "application/octet-stream")
        elif path == "/slow":
            time.sleep(3)
            self.reply(200, b"slow\n")
        else:
            self.reply(404, b"not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.reply(200, b"echo:" + body)


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    server.serve_forever()
