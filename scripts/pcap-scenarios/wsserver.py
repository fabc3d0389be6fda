#!/usr/bin/python3
"""WebSocket echo server (python3-websockets) for pcaps/websocket-upgrade.pcap.

Usage: wsserver.py --bind ADDR --port N
Answers the Upgrade with 101 and echoes every message back. Compression is off so
the frames stay readable in the capture. Runs until killed (SIGTERM).
"""

import argparse
import asyncio

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def serve(bind, port):
    async with websockets.serve(echo, bind, port, compression=None):
        await asyncio.Future()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8090)
    args = ap.parse_args()
    asyncio.run(serve(args.bind, args.port))


if __name__ == "__main__":
    main()
