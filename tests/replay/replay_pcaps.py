#!/usr/bin/python3
"""Replay test for the bundled captures in pcaps/: every NAME.pcap is replayed with
--publish all and its exchanges must be exactly those of NAME.expected.jsonl, in order:
connection, method, URI, final status and outcome. (For parse errors the method and URI
are what offpath could salvage of bytes that are not HTTP, so only the outcome counts.)
An expected row may also give "anomalies" (the sorted list), "failed" and "grpc_status"
(the record's grpc.status); they are then compared too. When NAME.summary exists, each of its lines is a set of `counter=value`
words (and line names) that must all appear on one line of offpath's end-of-run
summary, e.g. `encap vxlan=22`.
Gateway captures (both legs of a gateway in one capture) may give the
gateway view: "leg", "failure_origin", "error_type" and "tries" (the joined upstream
attempts as [addr, status, outcome]); those given are compared.
Usage: replay_pcaps.py --bin offpath --dir pcaps [NAME ...]
"""
import argparse
import json
import os
import subprocess
import sys


def conn_of(rec):
    def ep(e):
        ip = e["ip"]
        return f"[{ip}]:{e['port']}" if ":" in ip else f"{ip}:{e['port']}"
    return f"{ep(rec['client'])}-{ep(rec['server'])}"


def actual(binary, capture, extra, summary=None):
    out = subprocess.run([binary, "-r", capture, "--publish", "all", "--workers", "1"] + extra,
                         capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"offpath exited {out.returncode}: {out.stderr.decode()}")
    if summary is not None:
        summary.extend(line.split()[1:] for line in out.stderr.decode().splitlines()
                       if line.startswith("offpath: "))
    rows = []
    for line in out.stdout.decode().splitlines():
        rec = json.loads(line)
        if rec["schema"] != "offpath/1":
            continue  # the coverage ledger's record
        req, resp = rec["request"], rec["response"]
        rows.append({
            "conn": conn_of(rec),
            "method": req["method"] if req else None,
            "uri": req["uri"] if req else None,
            "status": resp["status"] if resp else None,
            "outcome": rec["outcome"],
            "uri_truncated": "uri_truncated" in rec["anomalies"],
            "anomalies": sorted(rec["anomalies"]),
            "failed": rec["failed"],
            "leg": rec.get("leg"),
            "failure_origin": rec.get("failure_origin"),
            "error_type": rec["error_type"],
            "tries": [[t["addr"], t["status"], t["outcome"]]
                      for t in (rec.get("upstream") or {}).get("tries", [])],
            "grpc_status": (rec.get("grpc") or {}).get("status"),
        })
    return rows


def comparable(row, expected_row):
    """The fields the expected row names: always connection, method, URI, status and
    outcome; anomalies, failed and grpc_status too when the expected file gives them."""
    if row["outcome"] == "parse_error" and row["status"] is None:
        key = (row["conn"], row["outcome"])
    else:
        key = (row["conn"], row["method"], row["uri"], row["status"], row["outcome"])
    if expected_row is not None:
        if "anomalies" in expected_row:
            key += (tuple(sorted(row.get("anomalies", []))),)
        if "failed" in expected_row:
            key += (row.get("failed"),)
        for field in ("leg", "failure_origin", "error_type", "tries"):
            if field in expected_row:
                value = row.get(field)
                key += ((field, tuple(map(tuple, value)) if field == "tries" else value),)
        if "grpc_status" in expected_row:
            key += (row.get("grpc_status"),)
    return key


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    names = args.names or sorted(f[: -len(".expected.jsonl")]
                                 for f in os.listdir(args.dir) if f.endswith(".expected.jsonl"))
    failures = 0
    for name in names:
        with open(os.path.join(args.dir, name + ".expected.jsonl")) as f:
            expected = [json.loads(line) for line in f if line.strip()]
        summary = []
        got = actual(args.bin, os.path.join(args.dir, name + ".pcap"), [], summary)
        summary_path = os.path.join(args.dir, name + ".summary")
        missing = []
        if os.path.exists(summary_path):
            with open(summary_path) as f:
                for want in (line.split() for line in f if line.strip()):
                    if not any(set(want) <= set(words) for words in summary):
                        missing.append(" ".join(want))
        # A URI longer than the limit is kept truncated (and flagged): compare its prefix.
        for e, g in zip(expected, got):
            if g["uri_truncated"] and e["uri"] and g["uri"] and e["uri"].startswith(g["uri"]):
                g["uri"] = e["uri"]
        exp_rows = [comparable(r, r) for r in expected]
        got_rows = [comparable(g, expected[i] if i < len(expected) else None)
                    for i, g in enumerate(got)]
        if exp_rows == got_rows and not missing:
            print(f"ok   {name}: {len(exp_rows)} exchanges")
            continue
        failures += 1
        print(f"FAIL {name}")
        for want in missing:
            print(f"  summary has no line with: {want}")
        if missing:
            print("  summary:\n" + "\n".join("    " + " ".join(w) for w in summary))
        for i in range(max(len(exp_rows), len(got_rows))):
            e = exp_rows[i] if i < len(exp_rows) else None
            g = got_rows[i] if i < len(got_rows) else None
            if e != g:
                print(f"  #{i}: expected {str(e)[:300]}\n       offpath  {str(g)[:300]}")
    print(f"{len(names) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
