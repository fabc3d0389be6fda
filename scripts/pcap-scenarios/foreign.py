#!/usr/bin/python3
"""Servers and clients of protocols that are not HTTP, for the not-http-mixed capture.

Each exchanges the opening bytes of its protocol over a real TCP socket, as the real
software does, then closes:
  ssh    port 2222: both sides send an identification line ("SSH-2.0-..."), then a
         binary packet (length, padding length, SSH_MSG_KEXINIT, cookie)
  smtp   port 2525: the server greets "220 ...", the client says EHLO and QUIT
  pg     port 5432: a PostgreSQL StartupMessage (protocol 3.0), answered with
         AuthenticationOk and ReadyForQuery; the client sends Terminate

Usage: foreign.py server ADDR        (all three listeners; runs until killed)
       foreign.py ssh|smtp|pg HOST   (one client connection; exit 1 on a wrong answer)
"""

import os
import socket
import socketserver
import struct
import sys
import threading

TIMEOUT = 5.0
PORTS = {"ssh": 2222, "smtp": 2525, "pg": 5432}


def kexinit(seed):
    """An SSH binary packet holding a KEXINIT with a fixed cookie and short name lists."""
    names = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr",
             b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none", b"", b""]
    payload = bytes([20]) + bytes((seed * 7 + i) % 256 for i in range(16))
    for n in names:
        payload += struct.pack("!I", len(n)) + n
    payload += b"\x00" + b"\x00\x00\x00\x00"
    pad = 8 - (len(payload) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + bytes(pad)


def recv_line(f):
    line = f.readline(1024)
    if not line:
        raise ConnectionError("closed")
    return line


class Ssh(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        recv_line(self.rfile)
        self.rfile.read(len(kexinit(1)))
        self.wfile.write(kexinit(2))


class Smtp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 mail.offpath.test ESMTP ready\r\n")
        recv_line(self.rfile)
        self.wfile.write(b"250-mail.offpath.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        recv_line(self.rfile)
        self.wfile.write(b"221 2.0.0 Bye\r\n")


class Pg(socketserver.StreamRequestHandler):
    def handle(self):
        (n,) = struct.unpack("!I", self.rfile.read(4))
        self.rfile.read(n - 4)
        self.wfile.write(b"R" + struct.pack("!II", 8, 0))  # AuthenticationOk
        self.wfile.write(b"Z" + struct.pack("!I", 5) + b"I")  # ReadyForQuery, idle
        self.rfile.read(5)  # Terminate


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(addr):
    servers = [Server((addr, PORTS["ssh"]), Ssh), Server((addr, PORTS["smtp"]), Smtp),
               Server((addr, PORTS["pg"]), Pg)]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def client(proto, host):
    with socket.create_connection((host, PORTS[proto]), timeout=TIMEOUT) as s:
        f = s.makefile("rb")
        if proto == "ssh":
            s.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n" + kexinit(1))
            ok = recv_line(f).startswith(b"SSH-2.0-") and len(f.read(len(kexinit(2)))) > 0
        elif proto == "smtp":
            ok = recv_line(f).startswith(b"220 ")
            s.sendall(b"EHLO client.offpath.test\r\n")
            while (line := recv_line(f))[3:4] == b"-":
                pass
            s.sendall(b"QUIT\r\n")
            ok = ok and line.startswith(b"250 ") and recv_line(f).startswith(b"221 ")
        else:
            params = b"user\x00offpath\x00database\x00orders\x00\x00"
            s.sendall(struct.pack("!II", len(params) + 8, 196608) + params)
            ok = f.read(9)[:1] == b"R" and f.read(6)[:1] == b"Z"
            s.sendall(b"X" + struct.pack("!I", 4))
        print("%s: %s" % (proto, "ok" if ok else "unexpected answer"))
        return ok


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        serve(sys.argv[2])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] in PORTS:
        return 0 if client(sys.argv[1], sys.argv[2]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
