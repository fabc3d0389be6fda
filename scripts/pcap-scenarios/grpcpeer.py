#!/usr/bin/python3
"""gRPC server and client for the grpc-* captures (python3-grpcio, no protoc step).

Usage: grpcpeer.py serve --bind ADDR --port PORT
       grpcpeer.py call --target HOST:PORT CALL
The service offpath.test.Catalog takes and returns raw bytes:
  GetItem      unary: echoes "item:<request>", or NOT_FOUND when the request is "missing"
  ListItems    server streaming: three messages "item-1".."item-3"
  Slow         unary, answers after 2 s (the client's deadline is 0.3 s)
CALL is one of unary, server-streaming, not-found, deadline, stopped-server; the
client exits 0 when the call ends as that CALL expects (status OK, OK, NOT_FOUND,
DEADLINE_EXCEEDED, UNAVAILABLE), else 1.
"""

import argparse
import sys
import time

import grpc

SERVICE = "offpath.test.Catalog"


def get_item(request, context):
    if request == b"missing":
        context.abort(grpc.StatusCode.NOT_FOUND, "no item named missing")
    return b"item:" + request


def list_items(request, context):
    for n in range(1, 4):
        yield b"item-%d" % n


def slow(request, context):
    time.sleep(2)
    return b"late"


def serve(args):
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "GetItem": grpc.unary_unary_rpc_method_handler(get_item),
        "ListItems": grpc.unary_stream_rpc_method_handler(list_items),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
    }),))
    server.add_insecure_port("%s:%d" % (args.bind, args.port))
    server.start()
    server.wait_for_termination()


def call(args):
    with grpc.insecure_channel(args.target) as channel:
        def unary(method):
            return channel.unary_unary("/%s/%s" % (SERVICE, method))
        try:
            if args.call == "unary":
                unary("GetItem")(b"lamp", timeout=5)
            elif args.call == "server-streaming":
                got = list(channel.unary_stream("/%s/ListItems" % SERVICE)(b"all", timeout=5))
                assert len(got) == 3, got
            elif args.call == "not-found":
                unary("GetItem")(b"missing", timeout=5)
            elif args.call == "deadline":
                unary("Slow")(b"x", timeout=0.3)
            elif args.call == "stopped-server":
                unary("GetItem")(b"lamp", timeout=2)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
    want = {"not-found": grpc.StatusCode.NOT_FOUND,
            "deadline": grpc.StatusCode.DEADLINE_EXCEEDED,
            "stopped-server": grpc.StatusCode.UNAVAILABLE}.get(args.call, grpc.StatusCode.OK)
    print("%s: %s" % (args.call, code.name))
    return 0 if code == want else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    c = sub.add_parser("call")
    c.add_argument("--target", required=True)
    c.add_argument("call", choices=["unary", "server-streaming", "not-found", "deadline",
                                    "stopped-server"])
    args = p.parse_args()
    return serve(args) if args.cmd == "serve" else call(args)


if __name__ == "__main__":
    sys.exit(main())
