#!/usr/bin/python3
"""HTTP/2 picked up mid-stream, swept over the recorded h2c and gRPC captures (issue 16):
each capture is cut before its packet N, for every N (the capture then starts there:
connections begun earlier are picked up mid-stream), and again with the first 7 payload
bytes of packet N removed too (picked up inside a frame). For every cut, offpath's
records must be a part of what it reads in the whole capture, with nothing read wrong:
  - each record matches a distinct record of the same connection in the whole capture:
    its method, URI, status and grpc status are that record's or unknown (null, empty),
    its request and response headers a subset of that record's (a header field HPACK
    could not read without the dynamic table is missing, never different); a stream
    the client reset may have a response the whole capture does not keep (the server's
    answer after the reset, as h2expected.py allows);
  - a connection whose handshake is kept gives exactly the records it gives whole
    (method, URI, status, outcome);
  - records of connections picked up mid-stream carry mid_stream.
Gaps: each packet that carries data is dropped in turn (the capture lost it: a gap in
one direction, inside a DATA frame or not); the records must again contradict nothing
of the whole capture.
The captures of pcaps/ derived from them by scripts/make-reassembly-pcaps.sh (picked up
mid-stream, a segment holding HEADERS lost, bytes lost inside a DATA frame) are held to
the same rules against the capture they come from.
Negatives: captures that are not HTTP/2 (TLS, SSH, SMTP, PostgreSQL, HTTP/1.1 with
binary bodies), cut the same ways, are never taken for HTTP/2 (http2 connections=0).
It prints, per capture, how many streams were still emitted over all cuts and with
which anomalies, and fails on the first cut that breaks a rule.
Usage: h2_pickup_sweep.py --bin offpath --dir pcaps [NAME ...]
"""
import argparse
import collections
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

CAPTURES = ["h2c-prior-knowledge-nghttpd", "h2c-nginx", "h2c-goaway", "h2c-h2load", "h2c-upgrade",
            "grpc-unary", "grpc-server-streaming", "grpc-not-found", "grpc-deadline"]
NEGATIVES = ["not-http-mixed", "gzip-response", "keepalive-get", "chunked-response",
             "mid-stream-binary-resync", "pipelined", "websocket-upgrade"]
MID_FRAME_CUT = 7
DERIVED = {"h2c-mid-stream": "h2c-h2load", "h2c-gap-request-headers": "h2c-h2load",
           "h2c-gap-response-headers": "h2c-h2load", "h2c-gap-in-data": "h2c-h2load",
           "grpc-mid-stream": "grpc-server-streaming"}


def load_mangle():
    """scripts/mangle-pcap.py, for its pcap reader."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                        "mangle-pcap.py")
    spec = importlib.util.spec_from_file_location("mangle_pcap", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MANGLE = load_mangle()
read_pcap, tcp_offsets = MANGLE.read_pcap, MANGLE.tcp_offsets


def cut_head(frame, k):
    """The first k payload bytes of a frame removed, its sequence number moved on by k
    (checksums are left as they are: offpath does not check them)."""
    pkt = frame[2]
    tcp, payload = tcp_offsets(pkt)
    seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
    struct.pack_into("!I", pkt, tcp + 4, (seq + k) % (1 << 32))
    del pkt[payload:payload + k]
    struct.pack_into("!H", pkt, 16, struct.unpack_from("!H", pkt, 16)[0] - k)
    frame[3] = len(pkt)


def write_pcap(path, header, frames):
    with open(path, "wb") as f:
        f.write(header)
        for sec, usec, pkt, orig in frames:
            f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + bytes(pkt))


def records(binary, capture, summary=None):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "--workers", "1"],
                         capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"offpath exited {out.returncode} on {capture}: {out.stderr.decode()}")
    if summary is not None:
        summary.extend(out.stderr.decode().splitlines())
    recs = [json.loads(line) for line in out.stdout.decode().splitlines()]
    return [r for r in recs if r["schema"] == "offpath/1"]


def conn(r):
    return (r["client"]["ip"], r["client"]["port"], r["server"]["ip"], r["server"]["port"])


def subset(cut, whole):
    for k, v in cut.items():
        w = whole.get(k)
        if w is None or (v != w and v not in w.split(", ")):
            return False
    return True


def compatible(c, w):
    """Nothing in record c (cut capture) contradicts record w (whole capture)."""
    cq, wq, cs, ws = c["request"], w["request"], c["response"], w["response"]
    if cq is not None:
        if wq is None or cq["method"] not in ("", wq["method"]) or cq["uri"] not in ("", wq["uri"]):
            return False
        if not subset(cq["headers"], wq["headers"]):
            return False
    if cs is not None and ws is None and w["outcome"] == "stream_reset":
        return True  # what the server sent after the reset: the whole capture may not keep it
    if cs is not None and cs["status"] in w.get("interim_statuses", []):
        return True  # an interim answer (the h2c upgrade's 101) whose request was cut off
    if cs is not None:
        if ws is None or cs["status"] not in (None, 0, ws["status"]):
            return False
        if not subset(cs["headers"], ws["headers"]):
            return False
    cg = (c.get("grpc") or {}).get("status")
    return cg is None or cg == (w.get("grpc") or {}).get("status")


def known(r):  # match the records that say most first
    q, s = r["request"] or {}, r["response"] or {}
    return -(bool(q.get("method")) + bool(q.get("uri")) + bool(s.get("status")) +
             len(q.get("headers", {})) + len(s.get("headers", {})))


def check_cut(whole, cut, kept_syns, what, picked_up=True):
    by_conn = collections.defaultdict(list)
    for w in whole:
        by_conn[conn(w)].append(w)
    used = set()
    for c in sorted(cut, key=known):
        k = conn(c)
        match = next((i for i, w in enumerate(by_conn[k]) if (k, i) not in used and compatible(c, w)),
                     None)
        if match is None:
            return f"{what}: a record that the whole capture contradicts: {json.dumps(c)[:600]}"
        used.add((k, match))
        if picked_up and k not in kept_syns and "mid_stream" not in c["anomalies"]:
            return f"{what}: a record picked up mid-stream without mid_stream: {json.dumps(c)[:300]}"

    def rows(recs):
        return sorted((json.dumps([r["request"] and [r["request"]["method"], r["request"]["uri"]],
                                   r["response"] and r["response"]["status"], r["outcome"]])
                       for r in recs))
    for k in kept_syns:
        if rows([r for r in cut if conn(r) == k]) != rows(by_conn[k]):
            return f"{what}: connection {k}, whose handshake is kept, differs from the whole capture"
    return None


def syn_conns(frames, start):
    """Connections (client ip, port, server ip, port) whose SYN is at or after `start`."""
    out = set()
    for _, _, pkt, _ in frames[start:]:
        tcp, _ = tcp_offsets(pkt)
        if pkt[tcp + 13] & 0x12 == 0x02:  # SYN without ACK
            ip = lambda o: ".".join(str(b) for b in pkt[o:o + 4])
            sport, dport = struct.unpack_from("!HH", pkt, tcp)
            out.add((ip(26), sport, ip(30), dport))
    return out


def cuts(path, tmp):
    """(description, cut capture, first packet kept) for every cut of a capture."""
    header, frames = read_pcap(path)
    for n in range(2, len(frames) + 1):
        for mid_frame in (False, True):
            kept = [[f[0], f[1], bytearray(f[2]), f[3]] for f in frames[n - 1:]]
            if mid_frame:
                _, payload = tcp_offsets(kept[0][2])
                if len(kept[0][2]) - payload <= MID_FRAME_CUT:
                    continue
                cut_head(kept[0], MID_FRAME_CUT)
            out = os.path.join(tmp, "cut.pcap")
            write_pcap(out, header, kept)
            yield (f"{os.path.basename(path)} from packet {n}" +
                   (f" less {MID_FRAME_CUT} bytes" if mid_frame else ""), out, n)


def drops(path, tmp):
    """(description, capture less one data packet) for every packet that carries data."""
    header, frames = read_pcap(path)
    for n, f in enumerate(frames, 1):
        _, payload = tcp_offsets(f[2])
        if len(f[2]) <= payload:
            continue
        out = os.path.join(tmp, "drop.pcap")
        write_pcap(out, header, frames[:n - 1] + frames[n:])
        yield f"{os.path.basename(path)} less packet {n}", out


def sweep_negative(binary, path, tmp):
    count = 0
    for what, out, _ in cuts(path, tmp):
        summary = []
        records(binary, out, summary)
        if not any(line.startswith("offpath: http2 connections=0 ") for line in summary):
            return f"{what}: taken for HTTP/2", count
        count += 1
    return None, count


def sweep(binary, path, tmp):
    _, frames = read_pcap(path)
    whole = records(binary, path)
    stats = collections.Counter()
    for what, out, n in cuts(path, tmp):
        cut = records(binary, out)
        error = check_cut(whole, cut, syn_conns(frames, n - 1), what)
        if error:
            return error, stats
        stats["cuts"] += 1
        stats["whole_streams"] += len(whole)
        stats["streams"] += len(cut)
        for r in cut:
            for a in ("mid_stream", "hpack_desync", "gap"):
                stats[a] += a in r["anomalies"]
            stats["orphan_response"] += r["outcome"] == "orphan_response"
            stats["with_method"] += bool(r["request"] and r["request"]["method"])
            stats["with_status"] += bool(r["response"] and r["response"]["status"])
    for what, out in drops(path, tmp):
        cut = records(binary, out)
        error = check_cut(whole, cut, set(), what, picked_up=False)
        if error:
            return error, stats
        stats["drops"] += 1
        stats["drop_streams"] += len(cut)
        stats["drop_whole_streams"] += len(whole)
        for r in cut:
            stats["drop_gap"] += "gap" in r["anomalies"]
            stats["drop_hpack_desync"] += "hpack_desync" in r["anomalies"]
    return None, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    failed = False
    total = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.names or CAPTURES:
            error, stats = sweep(a.bin, os.path.join(a.dir, name + ".pcap"), tmp)
            total.update(stats)
            print(f"{name}: {stats['cuts']} cuts, {stats['streams']} of {stats['whole_streams']} "
                  f"streams emitted; mid_stream {stats['mid_stream']}, hpack_desync "
                  f"{stats['hpack_desync']}, gap {stats['gap']}, orphan_response "
                  f"{stats['orphan_response']}, with method {stats['with_method']}, with status "
                  f"{stats['with_status']}; {stats['drops']} packets dropped one at a time: "
                  f"{stats['drop_streams']} of {stats['drop_whole_streams']} streams emitted, gap "
                  f"{stats['drop_gap']}, hpack_desync {stats['drop_hpack_desync']}")
            if error:
                print("FAIL", error)
                failed = True
    print(f"all: {total['cuts']} cuts, {total['streams']} of {total['whole_streams']} streams "
          f"emitted; hpack_desync {total['hpack_desync']}, orphan_response {total['orphan_response']}; "
          f"{total['drops']} drops, {total['drop_streams']} of {total['drop_whole_streams']} streams "
          f"emitted, gap {total['drop_gap']}, hpack_desync {total['drop_hpack_desync']}")
    if not a.names:
        for name, source in DERIVED.items():
            whole = records(a.bin, os.path.join(a.dir, source + ".pcap"))
            derived = records(a.bin, os.path.join(a.dir, name + ".pcap"))
            error = check_cut(whole, derived, set(), name, picked_up="mid-stream" in name)
            print(f"{name}: {len(derived)} of the {len(whole)} streams of {source} emitted, "
                  "none contradicting it" if not error else f"FAIL {error}")
            failed = failed or error is not None
        with tempfile.TemporaryDirectory() as tmp:
            for name in NEGATIVES:
                error, count = sweep_negative(a.bin, os.path.join(a.dir, name + ".pcap"), tmp)
                print(f"{name}: {count} cuts, none taken for HTTP/2" if not error else f"FAIL {error}")
                failed = failed or error is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
