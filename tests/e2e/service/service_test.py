#!/usr/bin/python3
"""Running offpath as a service, end to end with the real binary.

  service_test.py BIN SOURCE_DIR TEST

TEST is one of:
  config     flag > environment > file > default on a replay; unknown key, bad value and
             --check-config exit codes; deploy/offpath.yaml names every flag and checks ok
  reload     replay from a pipe that stays open; SIGHUP with a new --status filter changes
             what is published; a broken file keeps the running configuration
  metrics    /metrics scraped during a replay agrees with the end-of-run summary; /healthz;
             both answer within 2 s with 1,000 idle and 20 slow connections open
  privdrop   as root, -i on a veth in a namespace of our own: after start the process runs
             as an unprivileged user with CAP_NET_RAW only (CapEff in /proc/PID/status)
  unit       systemd/offpath.service passes `systemd-analyze verify` without a warning and
             has the settings the service relies on
  manifests  deploy/kubernetes/*.yaml and deploy/Dockerfile have what the DaemonSet needs
Exit 0 pass, 1 fail, 77 cannot run here (privdrop without root).
"""
import configparser
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN, SRC, TEST = sys.argv[1], sys.argv[2], sys.argv[3]
GEN = os.path.join(SRC, "tests/e2e/kafka/gen_http_pcap.py")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFPATH_")}
    env.update(extra)
    return env


def run(args, env=None, stdin=None, timeout=60):
    return subprocess.run([BIN] + args, env=env or clean_env(), stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


def gen_pcap(path, connections=4, requests=6):
    subprocess.run([sys.executable, GEN, path, "--connections", str(connections),
                    "--requests", str(requests), "--body", "40"], check=True, timeout=60)


def pcap_frames(path):
    """(header bytes, [frame record bytes])"""
    data = open(path, "rb").read()
    header, off, frames = data[:24], 24, []
    while off < len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        frames.append(data[off:off + 16 + incl])
        off += 16 + incl
    return header, frames


def records(stdout):
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [r for r in records if r.get("schema") != "offpath/coverage/1"]


def summary_numbers(stderr):
    nums = {}
    for line in stderr.splitlines():
        if not line.startswith("offpath: "):
            continue
        words = line[len("offpath: "):].split()
        prefix = words[0] + "." if words and "=" not in words[0] else ""
        for w in words:
            if "=" in w:
                k, v = w.split("=", 1)
                if v.isdigit():
                    nums.setdefault(prefix + k, int(v))
    return nums


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    check(False, "timed out waiting for " + what)
    return None


def scrape(port, path="/metrics"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------
def test_config(tmp):
    pcap = os.path.join(tmp, "in.pcap")
    gen_pcap(pcap, connections=1, requests=2)
    cfg = os.path.join(tmp, "offpath.yaml")
    with open(cfg, "w") as f:
        f.write("publish: all\nmax_body: 3\nread: %s\n" % pcap)

    def body_len(res):
        recs = records(res.stdout)
        if not check(res.returncode == 0 and recs, "replay failed: " + res.stderr):
            return None
        return len(recs[0]["response"]["body"]["text"] if isinstance(recs[0]["response"]["body"], dict)
                   else recs[0]["response"]["body"])

    base = ["--config", cfg, "-q", "--workers", "1"]
    check(body_len(run(base)) == 3, "file value max_body 3")
    check(body_len(run(base, env=clean_env(OFFPATH_MAX_BODY="5"))) == 5, "env over file")
    check(body_len(run(base + ["--max-body", "7"], env=clean_env(OFFPATH_MAX_BODY="5"))) == 7,
          "flag over env")
    check(body_len(run(["-q", "--workers", "1"], env=clean_env(OFFPATH_CONFIG=cfg))) == 3,
          "OFFPATH_CONFIG names the file")
    # Errors: exit 2, the key named.
    for text, key in [("max_bodyy: 1\n", "max_bodyy"), ("max_body: lots\n", "max_body"),
                      ("publish: some\n", "publish"), ("[1, 2]\n", "map")]:
        with open(cfg, "w") as f:
            f.write("read: %s\n" % pcap + text if not text.startswith("[") else text)
        for args in (["--config", cfg], ["--config", cfg, "--check-config"]):
            r = run(args)
            check(r.returncode == 2 and key in r.stderr,
                  "%r %s: exit %d, %s" % (text, args[-1], r.returncode, r.stderr.strip()))
    # A file that is not a mapping at all (a scalar, as /etc/passwd parses), or not a file:
    # one line naming the file, exit 2.
    with open(cfg, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    for path in (cfg, tmp):
        r = run(["--config", path])
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and
              lines[0].startswith("offpath: error: config file %s: " % path),
              "--config %s: exit %d, %r" % (path, r.returncode, r.stderr))
    r = run(["-r", pcap, "--check-config"], env=clean_env(OFFPATH_WORKERS="0"))
    check(r.returncode == 2 and "OFFPATH_WORKERS" in r.stderr, "bad env value: " + r.stderr)
    with open(cfg, "w") as f:
        f.write("read: %s\nstatus: [5xx]\nmetrics: 9464\n" % pcap)
    r = run(["--config", cfg, "--check-config"])
    check(r.returncode == 0 and r.stdout == "", "--check-config ok: %d %s" % (r.returncode, r.stderr))
    with open(cfg, "w") as f:
        f.write("read: %s\nstatus: [abc]\n" % pcap)
    r = run(["--config", cfg, "--check-config"])
    check(r.returncode == 2 and "status" in r.stderr, "--check-config catches a bad filter: " + r.stderr)
    # The example config is valid and names every long flag.
    example = os.path.join(SRC, "deploy/offpath.yaml")
    r = run(["--config", example, "--check-config"])
    check(r.returncode == 0, "deploy/offpath.yaml: " + r.stderr)
    help_text = run(["--help"]).stdout
    text = open(example).read()
    flags = set(re.findall(r"--([a-z][a-z0-9-]+)", help_text)) - {"help", "version", "config",
                                                                  "check-config"}
    check(len(flags) > 50, "found the flags in --help: %d" % len(flags))
    for flag in sorted(flags):
        key = flag.replace("-", "_")
        check(re.search(r"^#? ?%s:" % re.escape(key), text, re.M), "example config lacks " + key)
    check(re.search(r"^#? ?kafka_property:", text, re.M), "example config lacks kafka_property")


# ---------------------------------------------------------------------------------------
def test_reload(tmp):
    pcap = os.path.join(tmp, "in.pcap")
    gen_pcap(pcap, connections=3, requests=14)  # every 7th response is a 503
    header, frames = pcap_frames(pcap)
    half = len(frames) // 2
    cfg = os.path.join(tmp, "offpath.yaml")
    os.chmod(tmp, 0o755)  # readable after the switch to an unprivileged user

    def write_cfg(text):
        with open(cfg + ".new", "w") as f:
            f.write(text)
        os.chmod(cfg + ".new", 0o644)
        os.replace(cfg + ".new", cfg)

    write_cfg("publish: all\nstatus: [503]\n")
    out_path = os.path.join(tmp, "out.jsonl")
    proc = subprocess.Popen([BIN, "-r", "-", "--config", cfg, "--workers", "1", "-o", out_path,
                             "--metrics", "127.0.0.1:0"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=False,
                            env=clean_env())
    err = ""
    try:
        proc.stdin.write(header)  # the source reads the file header before anything starts
        proc.stdin.flush()

        def text():
            while True:
                r, _, _ = select.select([proc.stderr], [], [], 0)
                if not r:
                    break
                chunk = os.read(proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                nonlocal err
                err += chunk.decode(errors="replace")
            return err

        port = wait_for(lambda: (re.search(r"metrics on http://127\.0\.0\.1:(\d+)", text()) or [None, None])[1],
                        20, "metrics line")
        if port is None:
            return
        port = int(port)
        proc.stdin.write(b"".join(frames[:half]))
        proc.stdin.flush()
        wait_for(lambda: metric(scrape(port)[1], "offpath_capture_packets_total") == half, 20,
                 "first half read")
        time.sleep(0.3)
        write_cfg("publish: all\nstatus: [200]\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload: applied" in text(), 20, "reload applied")
        check("reload: status: 503 -> 200" in err, "reload logs the change: " + err)
        write_cfg("publish: all\nstatus: [200\n")  # broken YAML
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload rejected" in text(), 20, "broken reload rejected")
        write_cfg("publish: all\nstatus: [299]\nno_such_key: 1\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: text().count("reload rejected") >= 2, 20, "unknown key rejected")
        _, m = scrape(port)
        check(metric(m, 'offpath_config_reloads_total{reason="applied"}') == 1, "one reload applied")
        check(metric(m, 'offpath_config_reloads_total{reason="invalid"}') == 2, "two rejected")
        proc.stdin.write(b"".join(frames[half:]))
        proc.stdin.close()
        proc.wait(timeout=30)
        err = text() + os.read(proc.stderr.fileno(), 1 << 20).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, "exit code %s: %s" % (proc.returncode, err))
    recs = records(open(out_path).read())
    statuses = [r["response"]["status"] for r in recs if r.get("response")]
    # Before the reload only 503s, after it only 200s; the rejected files changed nothing.
    first200 = statuses.index(200) if 200 in statuses else len(statuses)
    check(first200 > 0 and all(s == 503 for s in statuses[:first200]), "503s first: %s" % statuses)
    check(first200 < len(statuses) and all(s == 200 for s in statuses[first200:]),
          "then 200s only: %s" % statuses)
    check(len(statuses[first200:]) >= 10, "the second half was published with the new filter")


def idle_connections_do_not_starve(port, idle=1000, slow=20):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = idle + slow + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY
                                                    else min(want, hard), hard))
    held = []
    try:
        for _ in range(idle + slow):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        for s in held[idle:]:  # a partial request line, a byte at a time
            for b in b"GET /me":
                s.send(bytes([b]))
        for path in ("/healthz", "/metrics"):
            t0 = time.monotonic()
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
                status = r.status
                r.read()
            ms = (time.monotonic() - t0) * 1000
            print("%s with %d idle and %d slow connections open: %.1f ms" % (path, idle, slow, ms))
            check(status == 200 and ms < 2000, "%s under idle connections: %s in %.0f ms"
                  % (path, status, ms))
    except OSError as e:
        check(False, "idle connections: %s" % e)
    finally:
        for s in held:
            s.close()


# ---------------------------------------------------------------------------------------
def test_metrics(tmp):
    pcap = os.path.join(tmp, "in.pcap")
    gen_pcap(pcap, connections=80, requests=10)
    header, frames = pcap_frames(pcap)
    check(len(frames) > 2 * 1024, "enough frames for live publication: %d" % len(frames))
    proc = subprocess.Popen([BIN, "-r", "-", "--workers", "2", "--publish", "all",
                             "--metrics", "127.0.0.1:0", "-o", os.devnull],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    err = b""

    def text():
        nonlocal err
        while select.select([proc.stderr], [], [], 0)[0]:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            err += chunk
        return err.decode(errors="replace")

    try:
        proc.stdin.write(header)  # the source reads the file header before anything starts
        proc.stdin.flush()
        port = wait_for(lambda: (re.search(r"metrics on http://127\.0\.0\.1:(\d+)", text()) or [None, None])[1],
                        20, "metrics line")
        if port is None:
            return
        port = int(port)
        status, body = scrape(port, "/healthz")
        check(status == 200 and body == "ok\n", "healthz while capturing: %s %r" % (status, body))
        status, _ = scrape(port, "/nope")
        check(status == 404, "404 for other paths")
        idle_connections_do_not_starve(port)
        proc.stdin.write(b"".join(frames))
        proc.stdin.flush()
        wait_for(lambda: metric(scrape(port)[1], "offpath_capture_packets_total") == len(frames),
                 30, "all frames read")
        # Workers publish once per batch: wait until their counters caught up.
        wait_for(lambda: (metric(scrape(port)[1], "offpath_exchange_exchanges_total") or 0) > 0,
                 30, "worker counters published")
        status, live = scrape(port)
        check(status == 200, "metrics status")
        proc.stdin.close()
        proc.wait(timeout=30)
        text()
        err += os.read(proc.stderr.fileno(), 1 << 20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    s = summary_numbers(err.decode(errors="replace"))
    check(proc.returncode == 0, "exit code %s" % proc.returncode)
    check(metric(live, "offpath_capture_packets_total") == s.get("packets"), "packets %s" % s)
    check(metric(live, "offpath_capture_bytes_total") == s.get("bytes"), "bytes")
    check(metric(live, "offpath_decode_tcp_segments_total") == s.get("tcp"),
          "tcp segments %s vs %s" % (metric(live, "offpath_decode_tcp_segments_total"), s.get("tcp")))
    ex = metric(live, "offpath_exchange_exchanges_total")
    check(ex is not None and 0 < ex <= s.get("exchanges", 0), "exchanges %s <= %s" % (ex, s.get("exchanges")))
    check(metric(live, "offpath_flow_created_total") <= s.get("flows", 0), "flows")
    check(metric(live, "offpath_worker_threads") == 2, "two workers")
    check(metric(live, 'offpath_exchange_latency_seconds_bucket{le="+Inf"}') ==
          metric(live, "offpath_exchange_latency_seconds_count"), "histogram count")
    for name in ["offpath_capture_kernel_drops_total", 'offpath_decode_skipped_total{reason="not_tcp"}',
                 "offpath_flow_active", 'offpath_flow_evicted_total{reason="memory"}',
                 "offpath_tcp_gaps_total", 'offpath_exchange_outcome_total{reason="complete"}',
                 'offpath_exchange_error_total{reason="backend_unavailable"}',
                 "offpath_output_spooled_total", "offpath_output_dropped_total",
                 "offpath_output_spool_bytes", "offpath_output_queue_depth",
                 'offpath_worker_queue_drops_total{worker="1"}']:
        check(metric(live, name) is not None, "metric present: " + name)


# ---------------------------------------------------------------------------------------
def test_privdrop(tmp):
    if os.geteuid() != 0:
        print("privdrop needs root")
        sys.exit(77)
    ns = "opsvc%d" % os.getpid()
    veth = "opsvc%da" % (os.getpid() % 100000)
    ip = lambda *a: subprocess.run(["ip"] + list(a), check=True, capture_output=True, timeout=20)
    proc = None
    try:
        ip("netns", "add", ns)
        ip("-n", ns, "link", "add", veth, "type", "veth", "peer", "name", veth + "p")
        ip("-n", ns, "link", "set", veth, "up")
        ip("-n", ns, "link", "set", veth + "p", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, BIN, "-i", veth, "--workers", "1",
                                 "--metrics", "127.0.0.1:0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env())
        err = b""

        def text():
            nonlocal err
            while select.select([proc.stderr], [], [], 0)[0]:
                chunk = os.read(proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                err += chunk
            return err.decode(errors="replace")

        wait_for(lambda: "running as user" in text(), 20, "privilege drop log")
        # `ip netns exec` execs offpath in place: the pid is offpath's.
        status = open("/proc/%d/status" % proc.pid).read()
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        uids = fields["Uid"].split()
        cap_eff = int(fields["CapEff"].strip(), 16)
        cap_prm = int(fields["CapPrm"].strip(), 16)
        check(all(u != "0" for u in uids), "uid not root: %s" % fields["Uid"])
        check(cap_eff == 1 << 13, "CapEff is CAP_NET_RAW only: %x" % cap_eff)
        check(cap_prm == 1 << 13, "CapPrm is CAP_NET_RAW only: %x" % cap_prm)
        check(all(g != "0" for g in fields["Gid"].split()), "gid not root: %s" % fields["Gid"])
        check(fields["Groups"].strip() == "", "no supplementary groups: %r" % fields["Groups"])
        check("capabilities: cap_net_raw" in text(), "logged: " + err.decode(errors="replace"))
        # Still capturing after the drop: /healthz is served inside the namespace.
        port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)", text())
        if check(port, "metrics port"):
            r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                                "import urllib.request;print(urllib.request.urlopen("
                                "'http://127.0.0.1:%s/healthz',timeout=5).read().decode())" % port.group(1)],
                               capture_output=True, text=True, timeout=20)
            check(r.stdout.strip() == "ok", "healthz after drop: %r %r" % (r.stdout, r.stderr))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        check(proc.returncode == 0, "clean exit after SIGTERM: %s %s" % (proc.returncode, text()))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


# ---------------------------------------------------------------------------------------
def test_unit(tmp):
    unit_src = os.path.join(SRC, "systemd/offpath.service")
    text = open(unit_src).read()
    unit = os.path.join(tmp, "offpath.service")
    with open(unit, "w") as f:  # verify wants ExecStart= to exist: point it at the build
        f.write(text.replace("/usr/local/bin/offpath", os.path.abspath(BIN)))
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, "verify exit %d" % r.returncode)
    noise = [l for l in (r.stderr + r.stdout).splitlines() if "offpath.service" in l]
    check(not noise, "verify warnings: %s" % noise)
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(text)
    s = cp["Service"]
    want = {"Type": "notify", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "Restart": "on-failure",
            "StateDirectory": "offpath", "AmbientCapabilities": "CAP_NET_RAW",
            "CapabilityBoundingSet": "CAP_NET_RAW", "SystemCallFilter": "@system-service"}
    for k, v in want.items():
        check(s.get(k) == v, "%s=%s (got %s)" % (k, v, s.get(k)))
    check(s.get("DynamicUser") == "yes" or s.get("User") == "offpath", "dedicated user")
    check("WatchdogSec" in s, "watchdog")
    check("AF_PACKET" in s.get("RestrictAddressFamilies", ""), "AF_PACKET allowed")
    check(s.get("ExecStart", "").startswith("/usr/local/bin/offpath"), "ExecStart path")
    # The example config it reads is valid.
    r = run(["--config", os.path.join(SRC, "deploy/offpath.yaml"), "--check-config"])
    check(r.returncode == 0, "example config: " + r.stderr)


# ---------------------------------------------------------------------------------------
def test_manifests(tmp):
    import yaml
    kdir = os.path.join(SRC, "deploy/kubernetes")
    docs = []
    for name in sorted(os.listdir(kdir)):
        if name.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(open(os.path.join(kdir, name))) if d]
    kinds = {d["kind"]: d for d in docs}
    for kind in ("DaemonSet", "ConfigMap", "ServiceAccount"):
        check(kind in kinds, "manifest of kind " + kind)
    if not all(k in kinds for k in ("DaemonSet", "ConfigMap", "ServiceAccount")):
        return
    ds = kinds["DaemonSet"]
    spec = ds["spec"]["template"]["spec"]
    check(spec.get("hostNetwork") is True, "hostNetwork")
    check(spec.get("serviceAccountName") == kinds["ServiceAccount"]["metadata"]["name"],
          "service account used")
    c = [c for c in spec["containers"] if c["name"] == "offpath"][0]
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("OFFPATH_NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
          == "spec.nodeName", "node name from the downward API")
    check(env.get("OFFPATH_POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
          == "metadata.name", "pod name from the downward API")
    sc = c.get("securityContext", {})
    caps = set(sc.get("capabilities", {}).get("add", []))
    check(sc.get("privileged") is True or {"BPF", "NET_ADMIN", "PERFMON"} <= caps,
          "eBPF capabilities: %s" % caps)
    for probe in ("livenessProbe", "readinessProbe"):
        check(c.get(probe, {}).get("httpGet", {}).get("path") == "/healthz", probe + " on /healthz")
    res = c.get("resources", {})
    check("requests" in res and "limits" in res, "resources")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    check("/sys/fs/bpf" in mounts and "/sys/kernel" in mounts, "bpf and kernel mounts: %s" % mounts)
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    cfg_vol = vols.get(mounts.get("/etc/offpath"), {})
    check(cfg_vol.get("configMap", {}).get("name") == kinds["ConfigMap"]["metadata"]["name"],
          "config from the ConfigMap")
    # The ConfigMap's file is a valid offpath config, and serves /healthz where the probes look.
    cfg_text = kinds["ConfigMap"]["data"]["offpath.yaml"]
    cfg = os.path.join(tmp, "offpath.yaml")
    open(cfg, "w").write(cfg_text)
    r = run(["--config", cfg, "--check-config"])
    check(r.returncode == 0, "ConfigMap config: " + r.stderr)
    port = [p for p in c.get("ports", []) if p.get("name") == "metrics"]
    check(port and ("%d" % port[0]["containerPort"]) in yaml.safe_load(cfg_text).get("metrics", ""),
          "metrics port matches the config")
    docker = open(os.path.join(SRC, "deploy/Dockerfile")).read()
    froms = re.findall(r"^FROM (\S+)", docker, re.M)
    check(len(froms) >= 2 and all(f.startswith("debian:12") for f in froms),
          "multi-stage from Debian 12: %s" % froms)
    check(re.search(r"^USER (?!root)\S+", docker, re.M), "non-root USER")


TESTS = {"config": test_config, "reload": test_reload, "metrics": test_metrics,
         "privdrop": test_privdrop, "unit": test_unit, "manifests": test_manifests}

if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="opsvc-")
    try:
        TESTS[TEST](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
