#!/usr/bin/python3
"""gRPC server and client for the grpc-* captures (python3-grpcio, no protoc step).

Usage: grpcpeer.py serve --bind ADDR --port PORT
       grpcpeer.py call --target HOST:PORT CALL
       grpcpeer.py gateway-calls --target HOST:PORT --stop-file FILE [--one-method]
The service offpath.test.Catalog takes and returns raw bytes:
  GetItem      unary: echoes "item:<request>", or NOT_FOUND when the request is "missing"
  ListItems    server streaming: three messages "item-1".."item-3"
  Slow         unary, answers after 2 s (the client's deadline is 0.3 s)
  Lookup       as GetItem (a second path, so that a gateway's log tells the calls apart)
  Part1..Part6 unary, answer "part:<request>" after 0.2 s (calls in flight together)
CALL is one of unary, server-streaming, not-found, deadline, stopped-server; the
client exits 0 when the call ends as that CALL expects (status OK, OK, NOT_FOUND,
DEADLINE_EXCEEDED, UNAVAILABLE), else 1.
gateway-calls makes, on one channel (one HTTP/2 connection to a gateway), one call
after another: GetItem OK; Part1..Part6 at once (six streams in flight); Lookup
NOT_FOUND; Slow with a 0.3 s deadline (DEADLINE_EXCEEDED); then it creates FILE.ready,
waits for FILE (the server is stopped by then) and calls Ping (UNAVAILABLE). It exits 0
when every call ended so, else 1. With --one-method the six calls at once all go to
Part1 (the usual gRPC load: one method, many streams).
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


def part(request, context):
    time.sleep(0.2)
    return b"part:" + request


def serve(args):
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
        "GetItem": grpc.unary_unary_rpc_method_handler(get_item),
        "ListItems": grpc.unary_stream_rpc_method_handler(list_items),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Lookup": grpc.unary_unary_rpc_method_handler(get_item),
        **{"Part%d" % n: grpc.unary_unary_rpc_method_handler(part) for n in range(1, 7)},
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


def gateway_calls(args):
    import os
    from concurrent import futures

    def code_of(fn):
        try:
            fn()
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    with grpc.insecure_channel(args.target) as channel:
        def unary(method):
            return channel.unary_unary("/%s/%s" % (SERVICE, method))
        got = [("GetItem", code_of(lambda: unary("GetItem")(b"lamp", timeout=5)),
                grpc.StatusCode.OK)]
        with futures.ThreadPoolExecutor(max_workers=6) as pool:
            method = (lambda n: "Part1") if args.one_method else (lambda n: "Part%d" % n)
            calls = {n: pool.submit(code_of, lambda n=n: unary(method(n))(b"%d" % n,
                                                                          timeout=5))
                     for n in range(1, 7)}
            got += [(method(n), f.result(), grpc.StatusCode.OK) for n, f in calls.items()]
        got.append(("Lookup", code_of(lambda: unary("Lookup")(b"missing", timeout=5)),
                    grpc.StatusCode.NOT_FOUND))
        got.append(("Slow", code_of(lambda: unary("Slow")(b"x", timeout=0.3)),
                    grpc.StatusCode.DEADLINE_EXCEEDED))
        open(args.stop_file + ".ready", "w").close()
        for _ in range(100):
            if os.path.exists(args.stop_file):
                break
            time.sleep(0.1)
        got.append(("Ping", code_of(lambda: unary("Ping")(b"x", timeout=5)),
                    grpc.StatusCode.UNAVAILABLE))
    for method, code, want in got:
        print("%s: %s%s" % (method, code.name, "" if code == want else " (want %s)" % want.name))
    return 0 if all(code == want for _, code, want in got) else 1


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
    g = sub.add_parser("gateway-calls")
    g.add_argument("--target", required=True)
    g.add_argument("--stop-file", required=True)
    g.add_argument("--one-method", action="store_true")
    args = p.parse_args()
    return {"serve": serve, "call": call, "gateway-calls": gateway_calls}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
