#!/usr/bin/python3
"""The coverage ledger on replays: offpath --ledger-interval writes offpath/coverage/1
records into its output. On a generated multi-interval capture (with losses, so gaps)
and on the bundled captures, with one and with two workers, with filters and sampling:

- the records are numbered 0, 1, 2, ..., contiguous in packet time, on multiples of the
  interval, the last one `final` and last in the output;
- each record's output.written equals the exchange lines between it and the previous
  record (and, with one worker, records.published too);
- the sums of every count over the records equal the end-of-run summary;
- every record validates against docs/schema/offpath-coverage-1.schema.json.

  ledger.py --bin offpath --gen offpath_gen_capture --dir pcaps --schema SCHEMA
  ledger.py --schema SCHEMA --check OUT.jsonl STDERR --interval-us N [--min-records N]
      (the same checks on the output and stderr of a run made elsewhere: live tests)
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
    return cond


def pcap_span(path):
    """First and last packet time (µs) of a classic little-endian microsecond pcap."""
    with open(path, "rb") as f:
        data = f.read()
    assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, path
    pos, first, last = 24, None, None
    while pos + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[pos:pos + 16])
        t = sec * 1_000_000 + usec
        first = t if first is None else first
        last = t
        pos += 16 + incl
    return first, last


def parse_summary(stderr):
    """The summary lines as {first word: {key: int}} ('packets', 'exchanges', 'output'...)."""
    out = {}
    for line in stderr.splitlines():
        if not line.startswith("offpath: ") or ": warn" in line or ": info" in line:
            continue
        tokens = line[len("offpath: "):].split()
        head = tokens[0].split("=")[0]
        values = {}
        for t in tokens:
            k, eq, v = t.partition("=")
            if eq and v.isdigit():
                values[k] = int(v)
        out[head] = values
    return out


def run(binary, capture, interval, *extra):
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "out.jsonl")
        proc = subprocess.run([binary, "-r", capture, "--publish", "all", "-o", out_path,
                               "--ledger-interval", interval, *extra],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"offpath {capture} exited {proc.returncode}: {proc.stderr}")
        with open(out_path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    return lines, parse_summary(proc.stderr)


def check_run(name, lines, summary, interval_us, validator, one_worker):
    ledgers = []
    between = []
    exchange_lines = 0
    for rec in lines:
        if rec.get("schema") == "offpath/coverage/1":
            ledgers.append(rec)
            between.append(exchange_lines)
            exchange_lines = 0
        else:
            exchange_lines += 1
    if not check(ledgers, f"{name}: no coverage record"):
        return 0
    check(exchange_lines == 0, f"{name}: {exchange_lines} exchange lines after the final record")
    for i, rec in enumerate(ledgers):
        for err in validator.iter_errors(rec):
            FAILS.append(f"{name}: record {i}: schema: {err.message} at {list(err.path)}")
        check(rec["sequence"] == i, f"{name}: record {i} has sequence {rec['sequence']}")
        check(rec["final"] == (i == len(ledgers) - 1), f"{name}: record {i} final={rec['final']}")
        check(rec["output"]["written"] == between[i],
              f"{name}: record {i} says written={rec['output']['written']}, "
              f"{between[i]} exchange lines before it")
        if one_worker:
            check(rec["records"]["published"] == between[i],
                  f"{name}: record {i} says published={rec['records']['published']}, "
                  f"{between[i]} lines before it")
        if i > 0:
            check(rec["start"] == ledgers[i - 1]["end"],
                  f"{name}: record {i} starts at {rec['start']}, the previous ended at "
                  f"{ledgers[i - 1]['end']}")
        if interval_us and not rec["final"]:
            end_us = round(rec["end"] * 1_000_000)
            check(end_us % interval_us == 0, f"{name}: record {i} ends off a boundary: {end_us}")

    def total(section, key):
        return sum(r[section][key] for r in ledgers)

    s = summary
    skipped = s["packets"]["skipped"]
    reasons = sum(v for k, v in s["packets"].items() if k not in ("packets", "bytes", "tcp", "skipped"))
    check(s["packets"]["tcp"] + skipped == s["packets"]["packets"] and reasons == skipped,
          f"{name}: summary packets")
    want = {
        ("capture", "packets"): s["packets"]["packets"],
        ("capture", "kernel_drops"): s.get("capture", {}).get("kernel_drops", 0),
        ("capture", "interface_drops"): s.get("capture", {}).get("interface_drops", 0),
        ("capture", "truncated"): s.get("capture", {}).get("truncated", 0),
        ("capture", "queue_drops"): s.get("workers", {}).get("queue_drops", 0),
        ("reassembly", "gaps"): s["reassembly"]["gaps"],
        ("reassembly", "gap_bytes"): s["reassembly"]["gap_bytes"],
        ("exchanges", "total"): s["exchanges"]["exchanges"],
        ("exchanges", "failed"): s["exchanges"]["failed"],
        ("records", "published"): s["exchanges"]["published"],
        ("records", "filtered"): s["exchanges"]["filtered"],
        ("records", "sampled_out"): s["exchanges"].get("sampled_out", 0),
        ("records", "shed"): s.get("shedding", {}).get("successes_not_encoded", 0),
        ("output", "written"): s["output"]["written"],
        ("output", "delivered"): s["output"]["delivered"],
        ("output", "failed"): s["output"]["failed"],
        ("output", "spooled"): s["output"]["spooled"],
        ("output", "dropped"): s["output"]["dropped"],
    }
    for (section, key), value in want.items():
        got = total(section, key)
        check(got == value, f"{name}: sum of {section}.{key} is {got}, the summary says {value}")
    for outcome in ledgers[0]["exchanges"]["by_outcome"]:
        got = sum(r["exchanges"]["by_outcome"][outcome] for r in ledgers)
        value = s["exchanges"].get(outcome, 0)
        check(got == value, f"{name}: sum of {outcome} is {got}, the summary says {value}")
    check(s["output"].get("coverage_records") == len(ledgers),
          f"{name}: summary coverage_records={s['output'].get('coverage_records')}, "
          f"{len(ledgers)} records in the output")
    check(s["exchanges"]["published"] == sum(between),
          f"{name}: published {s['exchanges']['published']}, {sum(between)} exchange lines")
    return len(ledgers)


def check_files(out_path, err_path, interval_us, min_records, validator):
    with open(out_path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    with open(err_path) as f:
        summary = parse_summary(f.read())
    n = check_run(out_path, lines, summary, interval_us, validator, True)
    check(n >= min_records, f"{out_path}: {n} coverage records, expected at least {min_records}")
    print(f"{out_path}: {n} coverage records, {summary['exchanges']['exchanges']} exchanges, "
          f"{summary['packets']['packets']} packets, all adding up to the summary")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--gen")
    ap.add_argument("--dir")
    ap.add_argument("--schema", required=True)
    ap.add_argument("--check", nargs=2, metavar=("OUT", "STDERR"))
    ap.add_argument("--interval-us", type=int, default=0)
    ap.add_argument("--min-records", type=int, default=1)
    args = ap.parse_args()
    import jsonschema
    with open(args.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    if args.check:
        check_files(*args.check, args.interval_us, args.min_records, validator)
        for f in FAILS:
            print("FAIL:", f)
        return 1 if FAILS else 0
    if not (args.bin and args.gen and args.dir):
        ap.error("--bin, --gen and --dir are required without --check")

    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "ledger.pcap")
        subprocess.run([args.gen, "-o", gen, "--size-mb", "4", "--connections", "40",
                        "--loss", "0.01", "--reorder", "0.02", "--seed", "7"],
                       check=True, capture_output=True, timeout=120)
        first, last = pcap_span(gen)
        # About 25 intervals over the capture; whole microseconds.
        interval_us = max(1, (last - first) // 25)
        interval = f"{interval_us / 1e6:.6f}"
        expect = (last // interval_us) - (first // interval_us) + 1
        for label, extra, one in [("1 worker", ["--workers", "1"], True),
                                  ("2 workers", ["--workers", "2"], False),
                                  ("filters and sampling",
                                   ["--workers", "1", "--method", "GET", "--sample", "0.5"],
                                   True)]:
            lines, summary = run(args.bin, gen, interval, *extra)
            n = check_run(f"generated, {label}", lines, summary, interval_us, validator, one)
            check(n == expect, f"generated, {label}: {n} records, expected {expect} "
                               f"({interval_us} µs intervals over {last - first} µs)")
            print(f"generated capture, {label}: {n} records, "
                  f"{summary['exchanges']['exchanges']} exchanges, "
                  f"{summary['reassembly']['gap_bytes']} gap bytes")
        check(summary["exchanges"].get("sampled_out", 0) > 0 and
              summary["exchanges"]["filtered"] > 0, "sampling and filters left nothing out")
        lines, summary = run(args.bin, gen, "0", "--workers", "1")
        check(check_run("generated, end only", lines, summary, 0, validator, True) == 1,
              "end only: not exactly one record")

    names = sorted(f[:-len(".pcap")] for f in os.listdir(args.dir) if f.endswith(".pcap"))
    records = 0
    for name in names:
        lines, summary = run(args.bin, os.path.join(args.dir, name + ".pcap"), "0.0005",
                             "--workers", "1")
        records += check_run(name, lines, summary, 500, validator, True)
    print(f"bundled captures: {len(names)} replays, {records} coverage records")

    for f in FAILS:
        print("FAIL:", f)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
