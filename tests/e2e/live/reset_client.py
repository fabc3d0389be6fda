#!/usr/bin/env python3
"""A client that sends a request and resets the connection before the answer comes.
Usage: reset_client.py HOST PORT PATH"""
import socket
import struct
import sys
import time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=5)
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: reset-client\r\n\r\n".encode())
time.sleep(0.5)
# Linger 0: close() sends RST instead of FIN.
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
