#!/usr/bin/python3
"""End-to-end tests of offpath's Kafka output.

offpath replays captures into librdkafka's mock cluster (tests/tools/mock_kafka, a real
Kafka-protocol server on 127.0.0.1 with fault injection) and independent consumers read
the topics back: kcat, and python3-kafka. What offpath prints as JSON lines for the same
capture (without -b) is the expectation: every exchange must arrive exactly once, with
key, headers, timestamp and payload as specified, and offpath's end-of-run Kafka counters
must match what the consumers saw.

  kafka_e2e.py --offpath BIN --mock BIN [--pcaps DIR] SCENARIO

Scenarios:
  deliver    captures (generated + bundled) into topics; kcat and python3-kafka read back
  outage     the capture arrives on stdin in four parts: the first once the broker is
             reached, the second as it goes down, the third during the outage, the last
             after it is back with injected Produce errors
  restart    broker down for a whole run ended by SIGTERM: everything in the spool; a
             second run with the broker up delivers it all, in order
  spoolfull  broker down, spool of 1 MB: the drop counter equals what never arrives
  ledger     the outage run with a coverage ledger on its own topic: the records' sums
             of delivered + spooled + dropped + failed equal their sum of published,
             which equals the exchanges the consumer read
  http2      recorded HTTP/2 and gRPC captures (gateway-grpc, h2c-h2load, grpc-deadline):
             every record once, keyed by connection, gRPC failures behind a 200 on the
             failed topic, and --format openresty records as printed
"""
import argparse
import collections
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


class Mock:
    """tests/tools/mock_kafka as a child process, driven through its stdin."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self._readline(15)
        check(line.startswith("bootstrap="), "mock_kafka said %r" % line)
        self.bootstrap = line.strip().split("=", 1)[1]

    def _readline(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        check(ready, "mock_kafka did not answer within %ss" % timeout)
        return self.proc.stdout.readline()

    def cmd(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        reply = self._readline(15).strip()
        check(reply == "ok", "mock_kafka %r: %s" % (text, reply))

    def close(self):
        try:
            self.cmd("quit")
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait(10)


class Env:
    def __init__(self, args):
        self.offpath = args.offpath
        self.mock_bin = args.mock
        self.pcaps = args.pcaps
        self.tmp = tempfile.mkdtemp(prefix="offpath-kafka-e2e-")

    def path(self, name):
        return os.path.join(self.tmp, name)

    def gen_pcap(self, name, *gen_args):
        out = self.path(name)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_http_pcap.py"), out] +
                       list(gen_args), check=True, timeout=120)
        return out

    def run(self, args, timeout=90, stdin=None):
        proc = subprocess.run([self.offpath] + args, capture_output=True, text=True,
                              timeout=timeout, input=stdin)
        return proc

    def expected(self, pcap, publish="all"):
        proc = self.run(["-r", pcap, "--publish", publish, "--workers", "1", "-q"])
        check(proc.returncode == 0,
              "offpath -r %s exited %d: %s" % (pcap, proc.returncode, proc.stderr[-2000:]))
        return [line for line in proc.stdout.splitlines()
                if line.strip() and '"schema":"offpath/coverage/1"' not in line]


def kafka_counters(stderr):
    """offpath's closing line 'kafka: records=N messages=N ...' as a dict."""
    for line in reversed(stderr.splitlines()):
        pos = line.find("kafka: records=")
        if pos >= 0:
            out = {}
            for token in line[pos + len("kafka: "):].split():
                key, _, value = token.partition("=")
                out[key] = int(value)
            return out
    raise Failure("no 'kafka: records=' line in offpath's output:\n" + stderr[-3000:])


def balanced(c):
    return (c["messages"] + c["recovered"] ==
            c["delivered"] + c["failed"] + c["dropped"] + c["spool_pending"] + c["in_flight"])


# ---- consumers ----

def consume_kcat(bootstrap, topic, coverage=False):
    """The topic's exchange messages; with coverage=True, its coverage ledger records (on by
    default, on the main topic unless --coverage-topic)."""
    proc = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-J", "-q",
                           "-X", "log_level=3"], capture_output=True, text=True, timeout=60)
    check(proc.returncode == 0, "kcat: %s" % proc.stderr[-2000:])
    msgs = []
    for line in proc.stdout.splitlines():
        m = json.loads(line)
        raw = m.get("headers") or []
        msgs.append({"partition": m["partition"], "offset": m["offset"], "key": m["key"],
                     "value": m["payload"], "ts": m["ts"],
                     "headers": dict(zip(raw[0::2], raw[1::2]))})
    return [m for m in msgs if (m["headers"].get("record-type") == "coverage") == coverage]


def python_has_lz4():
    try:
        import kafka.codec
        return kafka.codec.has_lz4()
    except ImportError:
        return False


def consume_python(bootstrap, topic, timeout=30):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None, request_timeout_ms=20000,
                             api_version_auto_timeout_ms=10000)
    try:
        deadline = time.time() + timeout
        parts = consumer.partitions_for_topic(topic)
        while not parts and time.time() < deadline:
            time.sleep(0.2)
            parts = consumer.partitions_for_topic(topic)
        check(parts, "python3-kafka: no partitions for %s" % topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        msgs = []
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.time() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    msgs.append({"partition": r.partition, "offset": r.offset,
                                 "key": r.key.decode() if r.key is not None else None,
                                 "value": r.value.decode(), "ts": r.timestamp,
                                 "headers": {k: v.decode() for k, v in r.headers}})
        check(all(consumer.position(tp) >= end[tp] for tp in tps),
              "python3-kafka did not reach the end of %s in %ss" % (topic, timeout))
        return [m for m in msgs if m["headers"].get("record-type") != "coverage"]
    finally:
        consumer.close()


# ---- what a message must look like ----

def endpoint(obj):
    ip = obj.get("ip") or obj.get("address") or obj.get("addr")
    port = obj.get("port")
    check(ip is not None and port is not None, "no ip/port in %r" % obj)
    return ("[%s]:%d" % (ip, port)) if ":" in ip else ("%s:%d" % (ip, port))


def connection_key(record):
    return endpoint(record["client"]) + "-" + endpoint(record["server"])


def request_start_ms(record):
    """The request start of a native record, in ms since the epoch, or None if absent."""
    value = (record.get("timing") or {}).get("request_start")
    if not isinstance(value, (int, float)):
        return None
    return round(value * 1_000_000) // 1000  # seconds with 6 decimals -> ms, as offpath


def check_messages(expected, msgs, what, key_mode="connection"):
    """Every expected record exactly once; key, headers and timestamp as specified; the
    order of each connection's exchanges kept."""
    got = collections.Counter(m["value"] for m in msgs)
    want = collections.Counter(expected)
    missing = want - got
    extra = got - want
    check(not missing and not extra,
          "%s: %d expected, %d read; %d missing, %d unexpected or duplicated (e.g. %s)" %
          (what, len(expected), len(msgs), sum(missing.values()), sum(extra.values()),
           (list(missing) + list(extra))[:1]))
    by_key = collections.defaultdict(list)
    for m in sorted(msgs, key=lambda m: (m["partition"], m["offset"])):
        record = json.loads(m["value"])
        if key_mode == "connection":
            check(m["key"] == connection_key(record),
                  "%s: key %r, expected %r" % (what, m["key"], connection_key(record)))
        else:
            check(m["key"] is None, "%s: key %r with --key none" % (what, m["key"]))
        h = m["headers"]
        check(h.get("content-type") == "application/json", "%s: headers %r" % (what, h))
        check(h.get("outcome") == record["outcome"], "%s: outcome header %r for %r" %
              (what, h.get("outcome"), record["outcome"]))
        check(h.get("schema-version"), "%s: no schema-version header in %r" % (what, h))
        start = request_start_ms(record)
        if start is not None:
            check(m["ts"] == start, "%s: timestamp %r, request start %r" % (what, m["ts"], start))
        by_key[(m["partition"], m["key"])].append(m["value"])
    if key_mode == "connection":
        # A record can occur more than once (captures derived from one another give
        # identical records): the n-th occurrence of a value is its n-th expected position.
        positions = collections.defaultdict(list)
        for i, v in enumerate(expected):
            positions[v].append(i)
        for key, values in by_key.items():
            seen = collections.Counter()
            idx = []
            for v in values:
                idx.append(positions[v][min(seen[v], len(positions[v]) - 1)])
                seen[v] += 1
            check(idx == sorted(idx), "%s: order of %s not kept" % (what, key[1]))


def split_pcap(path, parts):
    with open(path, "rb") as f:
        data = f.read()
    header, off, records = data[:24], 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        records.append(data[off:off + 16 + caplen])
        off += 16 + caplen
    size = (len(records) + parts - 1) // parts
    return header, [b"".join(records[i:i + size]) for i in range(0, len(records), size)]


def deliver_checked(env, mock, pcap, topic, failed_topic):
    """Replays `pcap` into `topic` (lz4, read back with kcat) and its failed exchanges
    also into `failed_topic`: every record once, the counters balanced. Returns the
    expected records, the failed ones, the messages read and the base command."""
    name = os.path.basename(pcap)
    expected = env.expected(pcap)
    expected_failed = env.expected(pcap, "failed")
    mock.cmd("topic %s 4" % topic)
    mock.cmd("topic %s 2" % failed_topic)
    base = ["-r", pcap, "--publish", "all", "--workers", "1", "-b", mock.bootstrap,
            "--exit-on-broker-error"]
    proc = env.run(base + ["-t", topic, "--failed-topic", failed_topic])
    check(proc.returncode == 0, "%s: offpath exited %d: %s" %
          (name, proc.returncode, proc.stderr[-2000:]))
    c = kafka_counters(proc.stderr)
    check(c["records"] == len(expected), "%s: records=%d, %d exchanges" %
          (name, c["records"], len(expected)))
    check(c["messages"] == len(expected) + len(expected_failed) and
          c["delivered"] == c["messages"] and
          c["failed"] + c["dropped"] + c["spool_pending"] + c["in_flight"] == 0,
          "%s: counters %r" % (name, c))
    msgs = consume_kcat(mock.bootstrap, topic)
    check_messages(expected, msgs, name + " (kcat)")
    check_messages(expected_failed, consume_kcat(mock.bootstrap, failed_topic),
                   name + " failed topic (kcat)")
    return expected, expected_failed, msgs, base


# ---- scenarios ----

def scenario_deliver(env, mock):
    captures = [env.gen_pcap("gen.pcap", "--connections", "8", "--requests", "25")]
    if env.pcaps and os.path.isdir(env.pcaps):
        captures += sorted(os.path.join(env.pcaps, f) for f in os.listdir(env.pcaps)
                           if f.endswith(".pcap"))
    py_lz4 = python_has_lz4()
    # python3-kafka reads lz4 only with python3-lz4; otherwise the producer uses gzip. Every
    # capture goes to one topic that python3-kafka reads once at the end.
    py_extra = [] if py_lz4 else ["-X", "compression.type=gzip"]
    mock.cmd("topic py 3")
    all_expected = []
    for n, pcap in enumerate(captures):
        name = os.path.basename(pcap)
        # Default properties (lz4), read back with kcat.
        expected, _, _, base = deliver_checked(env, mock, pcap, "all-%d" % n, "failed-%d" % n)
        proc = env.run(base + ["-t", "py"] + py_extra)
        check(proc.returncode == 0, "%s: offpath -t py exited %d: %s" %
              (name, proc.returncode, proc.stderr[-2000:]))
        all_expected += expected
    check_messages(all_expected, consume_python(mock.bootstrap, "py"), "python3-kafka")
    total = len(all_expected)
    # --key none: no key at all.
    mock.cmd("topic nokey 2")
    proc = env.run(["-r", captures[0], "--publish", "all", "--workers", "1", "-b",
                    mock.bootstrap, "-t", "nokey", "--key", "none"])
    check(proc.returncode == 0, "--key none: offpath exited %d" % proc.returncode)
    check_messages(env.expected(captures[0]), consume_kcat(mock.bootstrap, "nokey"),
                   "--key none", key_mode="none")
    print("deliver: %d captures, %d exchanges, each read back once by kcat and python3-kafka%s"
          % (len(captures), total, "" if py_lz4 else " (gzip for python3-kafka: no python3-lz4)"))


def run_through_outage(env, mock, pcap, topic, extra=()):
    """Replays `pcap` on stdin in four parts: the first once the broker is reached, the
    second as it goes down, the third during the outage, the last after it is back with
    injected Produce errors. Returns offpath's stderr."""
    header, parts = split_pcap(pcap, 4)
    args = ["-r", "-", "--publish", "all", "--workers", "1", "-b", mock.bootstrap,
            "-t", topic, "--spool-dir", env.path("spool-" + topic), "--flush-timeout-ms",
            "30000",
            # librdkafka's mock cluster does not check idempotent sequence numbers: with
            # pipelined requests a batch after a failed one is accepted and the failed one
            # taken as acknowledged. One request in flight avoids the mock's gap.
            "-X", "max.in.flight.requests.per.connection=1"] + list(extra)
    proc = subprocess.Popen([env.offpath] + args, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(header)
        proc.stdin.flush()
        time.sleep(1.5)          # brokers reached: the first part goes out directly
        proc.stdin.write(parts[0])
        proc.stdin.flush()
        time.sleep(0.5)
        mock.cmd("down")         # the second part meets the outage as it starts
        proc.stdin.write(parts[1])
        proc.stdin.flush()
        time.sleep(2.0)          # the third, in the middle of it
        proc.stdin.write(parts[2])
        proc.stdin.flush()
        time.sleep(1.0)
        mock.cmd("up")
        mock.cmd("errors 6 7")   # REQUEST_TIMED_OUT
        mock.cmd("errors 3 19")  # NOT_ENOUGH_REPLICAS
        time.sleep(3.0)          # the last part after the recovery, with Produce errors
        out, err = proc.communicate(input=b"".join(parts[3:]), timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode(errors="replace")
    check(proc.returncode == 0, "offpath exited %d: %s" % (proc.returncode, err[-2000:]))
    return err


def scenario_outage(env, mock):
    pcap = env.gen_pcap("outage.pcap", "--connections", "12", "--requests", "40")
    expected = env.expected(pcap)
    mock.cmd("topic outage 4")
    err = run_through_outage(env, mock, pcap, "outage")
    c = kafka_counters(err)
    check(c["messages"] == len(expected) and c["delivered"] == len(expected) and
          c["failed"] + c["dropped"] + c["spool_pending"] + c["in_flight"] == 0 and balanced(c),
          "counters %r for %d exchanges" % (c, len(expected)))
    check(0 < c["spooled"] < len(expected),
          "expected some exchanges through the spool and some direct: %r" % c)
    check_messages(expected, consume_kcat(mock.bootstrap, "outage"), "outage")
    print("outage: %d exchanges, %d through the spool, each read back once" %
          (len(expected), c["spooled"]))


def pcap_span_us(pcap):
    """First and last packet time of a classic little-endian microsecond pcap."""
    _, parts = split_pcap(pcap, 1)
    times, off = [], 0
    data = parts[0]
    while off + 16 <= len(data):
        sec, usec, caplen = struct.unpack_from("<III", data, off)
        times.append(sec * 1_000_000 + usec)
        off += 16 + caplen
    return times[0], times[-1]


def scenario_ledger(env, mock):
    pcap = env.gen_pcap("ledger.pcap", "--connections", "12", "--requests", "40")
    expected = env.expected(pcap)
    mock.cmd("topic ledger 4")
    mock.cmd("topic ledger-coverage 1")
    first, last = pcap_span_us(pcap)
    interval = max(1, (last - first) // 20) / 1e6  # about 20 records over the capture
    err = run_through_outage(env, mock, pcap, "ledger",
                             ["--ledger-interval", "%.6f" % interval,
                              "--coverage-topic", "ledger-coverage"])
    c = kafka_counters(err)
    check(c["delivered"] == len(expected) and balanced(c) and c["spooled"] > 0,
          "counters %r for %d exchanges" % (c, len(expected)))
    # Exchanges alone on the main topic, each once; coverage records alone on theirs.
    check_messages(expected, consume_kcat(mock.bootstrap, "ledger"), "ledger (exchanges)")
    msgs = sorted(consume_kcat(mock.bootstrap, "ledger-coverage", coverage=True), key=lambda m: m["offset"])
    for m in msgs:
        check(m["headers"].get("record-type") == "coverage" and
              m["headers"].get("schema-version") == "offpath/coverage/1",
              "coverage message headers %r" % m["headers"])
    ledger = [json.loads(m["value"]) for m in msgs]
    check(ledger and [r["sequence"] for r in ledger] == list(range(len(ledger))) and
          ledger[-1]["final"] and not any(r["final"] for r in ledger[:-1]),
          "coverage records out of sequence: %r" % [(r["sequence"], r["final"]) for r in ledger])
    check(c["coverage_records"] == len(ledger) and c["coverage_delivered"] == len(ledger) and
          c["coverage_failed"] == 0, "coverage counters %r for %d records" % (c, len(ledger)))

    def total(section, key):
        return sum(r[section][key] for r in ledger)
    published = total("records", "published")
    accounted = (total("output", "delivered") + total("output", "spooled") +
                 total("output", "dropped") + total("output", "failed"))
    check(published == len(expected) and total("output", "written") == published,
          "ledger: published %d, written %d, the consumer read %d" %
          (published, total("output", "written"), len(expected)))
    check(accounted == published and total("output", "in_flight") == 0,
          "ledger: delivered + spooled + dropped + failed = %d, published %d" %
          (accounted, published))
    check(any(r["output"]["spooled"] > 0 for r in ledger),
          "no ledger interval saw the outage fill the spool: %r" %
          [r["output"] for r in ledger])
    print("ledger: %d coverage records, %d exchanges published = delivered + spooled + "
          "dropped + failed, %d read back; spool grew in %d intervals" %
          (len(ledger), published, len(expected),
           sum(1 for r in ledger if r["output"]["spooled"] > 0)))


def scenario_restart(env, mock):
    pcap = env.gen_pcap("restart.pcap", "--connections", "6", "--requests", "30")
    empty = env.gen_pcap("empty.pcap", "--empty")
    expected = env.expected(pcap)
    mock.cmd("topic restart 1")
    mock.cmd("down")
    spool = env.path("spool")
    common = ["--publish", "all", "--workers", "1", "-b", mock.bootstrap, "-t", "restart",
              "--spool-dir", spool]
    # First run: fed on stdin that stays open, stopped by SIGTERM.
    with open(pcap, "rb") as f:
        data = f.read()
    proc = subprocess.Popen([env.offpath, "-r", "-", "--flush-timeout-ms", "1000"] + common,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            raise Failure("offpath did not stop within 20 s of SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode(errors="replace")
    check(proc.returncode == 0, "SIGTERM: offpath exited %d: %s" % (proc.returncode, err[-2000:]))
    c = kafka_counters(err)
    check(c["messages"] == len(expected) and c["delivered"] == 0 and
          c["spool_pending"] == len(expected) and c["dropped"] + c["failed"] == 0,
          "first run counters %r for %d exchanges" % (c, len(expected)))
    # Second run, broker up: the spool goes out first, then this run's (empty) capture.
    mock.cmd("up")
    proc = env.run(["-r", empty] + common)
    check(proc.returncode == 0, "second run exited %d: %s" % (proc.returncode, proc.stderr[-2000:]))
    c = kafka_counters(proc.stderr)
    check(c["recovered"] == len(expected) and c["delivered"] == len(expected) and
          c["spool_pending"] + c["in_flight"] + c["dropped"] + c["failed"] == 0 and
          c["spool_bytes"] == 0, "second run counters %r" % c)
    msgs = consume_kcat(mock.bootstrap, "restart")
    check_messages(expected, msgs, "restart")
    check([m["value"] for m in sorted(msgs, key=lambda m: m["offset"])] == expected,
          "restart: not in capture order")
    print("restart: %d exchanges spooled by a SIGTERM-ed run, delivered in order by the next"
          % len(expected))


def scenario_spoolfull(env, mock):
    pcap = env.gen_pcap("big.pcap", "--connections", "10", "--requests", "150", "--body", "1500")
    empty = env.gen_pcap("empty.pcap", "--empty")
    expected = env.expected(pcap)
    check(sum(len(e) for e in expected) > (3 << 20) // 2, "capture too small to fill 1 MB")
    mock.cmd("topic full 1")
    mock.cmd("down")
    common = ["--publish", "all", "--workers", "1", "-b", mock.bootstrap, "-t", "full",
              "--spool-dir", env.path("spool"), "--spool-max-mb", "1"]
    proc = env.run(["-r", pcap, "--flush-timeout-ms", "500"] + common)
    check(proc.returncode == 0, "first run exited %d: %s" % (proc.returncode, proc.stderr[-2000:]))
    c = kafka_counters(proc.stderr)
    dropped, pending = c["dropped"], c["spool_pending"]
    check(dropped > 0 and pending > 0 and dropped + pending == len(expected) and
          c.get("dropped.spool_full") == dropped and balanced(c),
          "first run counters %r for %d exchanges" % (c, len(expected)))
    mock.cmd("up")
    proc = env.run(["-r", empty] + common)
    check(proc.returncode == 0, "second run exited %d" % proc.returncode)
    c2 = kafka_counters(proc.stderr)
    check(c2["delivered"] == pending, "second run counters %r, %d were pending" % (c2, pending))
    msgs = consume_kcat(mock.bootstrap, "full")
    check(len(msgs) == len(expected) - dropped,
          "%d read, %d exchanges - %d dropped" % (len(msgs), len(expected), dropped))
    check([m["value"] for m in sorted(msgs, key=lambda m: m["offset"])] == expected[:pending],
          "spoolfull: what arrived is not the oldest part of the capture, in order")
    print("spoolfull: %d exchanges, %d dropped (counted), %d delivered after the restart" %
          (len(expected), dropped, pending))


def scenario_http2(env, mock):
    """HTTP/2 and gRPC records go through Kafka as HTTP/1.x ones do: recorded h2c and
    gRPC captures (a gateway with h2c on both legs, 200 streams on two connections, a
    reset stream), every record once, keyed by its connection, the failed topic holding
    the gRPC failures behind a 200; and --format openresty records likewise."""
    check(env.pcaps and os.path.isdir(env.pcaps), "http2 needs the bundled captures")
    names = ["gateway-grpc", "h2c-h2load", "grpc-deadline"]
    mock.cmd("topic h2py 3")
    py_extra = [] if python_has_lz4() else ["-X", "compression.type=gzip"]
    all_expected, records, outcomes = [], 0, collections.Counter()
    for n, name in enumerate(names):
        pcap = os.path.join(env.pcaps, name + ".pcap")
        expected, expected_failed, msgs, base = deliver_checked(env, mock, pcap, "h2-%d" % n,
                                                                "h2-failed-%d" % n)
        check(all(json.loads(v)["request"]["version"] == "2" for v in expected),
              "%s: not all HTTP/2 records" % name)
        outcomes.update(m["headers"]["outcome"] for m in msgs)
        proc = env.run(base + ["-t", "h2py"] + py_extra)
        check(proc.returncode == 0, "%s: offpath -t h2py exited %d" % (name, proc.returncode))
        all_expected += expected
        records += len(expected)
        if name == "gateway-grpc":
            # The gRPC failures behind a 200 are on the failed topic, with the gateway view.
            failed = [json.loads(v) for v in expected_failed]
            behind_200 = [r for r in failed if r["response"] and r["response"]["status"] == 200]
            check(len(behind_200) == 2 and all(r["grpc"]["status"] not in (None, 0) and
                                               r["upstream"]["status"] == 200
                                               for r in behind_200),
                  "gateway-grpc: failed topic %r" % [(r["request"]["uri"], r["grpc"])
                                                     for r in failed])
            # The same exchanges in the OpenResty logger's shape.
            mock.cmd("topic h2-openresty 2")
            want = env.run(["-r", pcap, "--publish", "all", "--workers", "1", "-q",
                            "--format", "openresty"]).stdout.splitlines()
            want = [v for v in want if "offpath/coverage/1" not in v]
            proc = env.run(base + ["-t", "h2-openresty", "--format", "openresty"])
            check(proc.returncode == 0, "openresty: offpath exited %d" % proc.returncode)
            got = [m["value"] for m in consume_kcat(mock.bootstrap, "h2-openresty")]
            check(collections.Counter(got) == collections.Counter(want) and
                  all('"server_protocol":"HTTP/2.0"' in v and '"grpc_status":' in v for v in got),
                  "openresty through Kafka: %d read, %d expected" % (len(got), len(want)))
    check(outcomes["stream_reset"] >= 2, "outcome headers %r" % outcomes)
    check_messages(all_expected, consume_python(mock.bootstrap, "h2py"), "http2 (python3-kafka)")
    print("http2: %d captures, %d HTTP/2 exchanges (outcomes %s), each read back once by kcat "
          "and python3-kafka" % (len(names), records, dict(outcomes)))


SCENARIOS = {"deliver": scenario_deliver, "outage": scenario_outage,
             "restart": scenario_restart, "spoolfull": scenario_spoolfull,
             "ledger": scenario_ledger, "http2": scenario_http2}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offpath", required=True)
    ap.add_argument("--mock", required=True)
    ap.add_argument("--pcaps")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    env = Env(args)
    mock = Mock(args.mock)
    try:
        SCENARIOS[args.scenario](env, mock)
        print("1 passed, 0 failed")
        return 0
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (args.scenario, e), file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    finally:
        mock.close()
        if not args.keep:
            shutil.rmtree(env.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
