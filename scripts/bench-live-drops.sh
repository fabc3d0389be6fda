#!/usr/bin/env bash
# Live capture under a flood: how many packets each capture backend loses.
#
# Builds a veth pair between two network namespaces of its own (prefix "opdrop", deleted
# on exit), runs offpath on one end (--capture pcap, then --capture ebpf), replays a
# generated capture into the other end as fast as tcpreplay can send it (--topspeed),
# stops offpath with SIGTERM and reports, from offpath's end-of-run summary, the packets
# it captured and the kernel's drops (the "capture kernel_drops=" line, printed only when
# something was dropped: absent means 0), with the drop rate of each backend. Also shows
# what tcpreplay sent, so that packets lost before any counter (e.g. by veth) are visible.
# A measurement, not a test: prints "not measured: REASON" and exits 0 when something it
# needs is missing. Needs root, ip, tcpreplay (scripts/install-deps.sh --bench).
#
# Usage: scripts/bench-live-drops.sh [--build DIR] [--size-mb 150] [--workers N]
#                                    [--capture FILE] [--dir DIR]
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build-bench"
SIZE_MB=150
WORKERS=1
CAPTURE=""
DIR=${TMPDIR:-/var/tmp}/offpath-bench
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --capture) CAPTURE=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench-live-drops.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

not_measured() { echo "live capture drops: not measured: $*"; exit 0; }

[[ $(id -u) -eq 0 ]] || not_measured "needs root (network namespaces, capture)"
command -v ip >/dev/null || not_measured "ip (iproute2) not installed"
TCPREPLAY=$(command -v tcpreplay || true)
[[ -n $TCPREPLAY ]] || not_measured "tcpreplay not installed (scripts/install-deps.sh --bench)"
OFFPATH=$BUILD/offpath
GEN=$BUILD/tests/tools/offpath_gen_capture
[[ -x $OFFPATH ]] || not_measured "no offpath binary at $OFFPATH"
if [[ -z $CAPTURE ]]; then
  [[ -x $GEN ]] || not_measured "no capture generator at $GEN"
  mkdir -p "$DIR"
  CAPTURE=$DIR/live-drops-$SIZE_MB.pcap
  if [[ ! -s $CAPTURE ]]; then
    "$GEN" -o "$CAPTURE" --size-mb "$SIZE_MB" --seed 1 --connections 2000 --chunked 0.2 \
      --errors 0.1 >/dev/null 2>&1 || not_measured "capture generator failed"
    GENERATED=$CAPTURE
  fi
fi
[[ -s $CAPTURE ]] || not_measured "no capture file $CAPTURE"

ID="opdrop-$$"
NS_TX="$ID-tx"
NS_RX="$ID-rx"
WORK=$(mktemp -d "/tmp/$ID.XXXXXX")
OFFPATH_PID=""
cleanup() {
  if [[ -n $OFFPATH_PID ]]; then
    kill -TERM "$OFFPATH_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$OFFPATH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$OFFPATH_PID" 2>/dev/null
  fi
  ip netns del "$NS_TX" 2>/dev/null
  ip netns del "$NS_RX" 2>/dev/null
  rm -rf "$WORK"
  [[ -n ${GENERATED:-} ]] && rm -f "$GENERATED"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# tx (r0, 198.18.0.1) ── veth ── (c0, 198.18.0.2) rx: offpath captures on c0. The replayed
# frames are addressed to other hosts: the rx stack drops them after capture has seen them.
ip netns add "$NS_TX" && ip netns add "$NS_RX" || not_measured "cannot create network namespaces"
ip netns exec "$NS_TX" ip link add r0 type veth peer name c0 netns "$NS_RX" ||
  not_measured "cannot create a veth pair"
ip netns exec "$NS_TX" ip addr add 198.18.0.1/30 dev r0
ip netns exec "$NS_RX" ip addr add 198.18.0.2/30 dev c0
for ns_if in "$NS_TX r0" "$NS_RX c0"; do
  set -- $ns_if
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" 2>/dev/null  # no RS/ND noise
  ip netns exec "$1" ip link set "$2" mtu 9000
  ip netns exec "$1" ip link set lo up
  ip netns exec "$1" ip link set "$2" up
done

SIZE=$(stat -c %s "$CAPTURE")
# The eBPF program drops payload-less ACKs in the kernel by design (bpf/capture.bpf.c):
# they are not lost, so they are taken off what that backend should have captured.
PURE_ACKS=""
TCPDUMP=$(command -v tcpdump || command -v /usr/sbin/tcpdump || true)
if [[ -n $TCPDUMP ]]; then
  PURE_ACKS=$("$TCPDUMP" -nr "$CAPTURE" 'tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) == 0 and
    (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) == 0' 2>/dev/null | wc -l)
fi
echo "live capture drops: $(basename "$CAPTURE") ($((SIZE / 1000000)) MB) replayed with" \
  "tcpreplay --topspeed over veth, offpath --workers $WORKERS --publish all -o /dev/null," \
  "$(nproc) cores"
printf '%-18s %10s %10s %12s %12s %10s %10s %s\n' backend sent captured kernel_drops \
  not_captured drop_rate "send Mpps" "send Gbit/s"

run_backend() {  # $1: pcap | ebpf
  local backend=$1 err=$WORK/offpath-$1.err rep=$WORK/tcpreplay-$1.txt
  ip netns exec "$NS_RX" "$OFFPATH" -i c0 --capture "$backend" --workers "$WORKERS" \
    --publish all -o /dev/null 2>"$err" &
  OFFPATH_PID=$!
  sleep 2
  if ! kill -0 "$OFFPATH_PID" 2>/dev/null; then
    wait "$OFFPATH_PID" 2>/dev/null
    OFFPATH_PID=""
    printf '%-18s not measured: offpath did not start: %s\n' "--capture $backend" \
      "$(tail -n 1 "$err")"
    return
  fi
  if ! timeout 300 ip netns exec "$NS_TX" "$TCPREPLAY" -i r0 --topspeed "$CAPTURE" \
      >"$rep" 2>&1; then
    printf '%-18s not measured: tcpreplay failed: %s\n' "--capture $backend" \
      "$(grep -v '^ *$' "$rep" | tail -n 1)"
  fi
  sleep 1  # let the capture drain its ring before the summary is taken
  kill -TERM "$OFFPATH_PID"
  local waited=0
  while kill -0 "$OFFPATH_PID" 2>/dev/null && [[ $waited -lt 300 ]]; do
    sleep 0.1; waited=$((waited + 1))
  done
  kill -KILL "$OFFPATH_PID" 2>/dev/null && echo "offpath ($backend) did not stop in 30 s" >&2
  wait "$OFFPATH_PID" 2>/dev/null
  OFFPATH_PID=""
  /usr/bin/python3 - "$backend" "$err" "$rep" "$PURE_ACKS" <<'PY'
import re, sys
backend, err, rep = sys.argv[1], open(sys.argv[2], errors="replace").read(), open(sys.argv[3], errors="replace").read()
pure_acks = int(sys.argv[4]) if sys.argv[4] else None
name = f"--capture {backend}"
m = re.search(r"offpath: packets=(\d+)", err)
if not m:
    tail = err.strip().splitlines()[-1:] or ["no summary"]
    sys.exit(print(f"{name:18} not measured: no end-of-run summary ({tail[0]})"))
captured = int(m.group(1))
m = re.search(r"offpath: capture kernel_drops=(\d+)", err)
drops = int(m.group(1)) if m else 0  # the line is printed only when something was dropped
m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", rep)
sent, sent_bytes, secs = (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else (0, 0, 0.0)
seen = captured + drops
rate = drops / seen if seen else float("nan")
expected = sent
if backend == "ebpf":
    if pure_acks is None:
        sys.exit(print(f"{name:18} {sent:10} {captured:10} {drops:12} {'?':>12} {rate:10.2%}  (no tcpdump to count the ACKs it skips)"))
    expected = sent - pure_acks
missing = max(0, expected - captured) if sent else 0
mpps = sent / secs / 1e6 if secs else float("nan")
gbps = sent_bytes * 8 / secs / 1e9 if secs else float("nan")
print(f"{name:18} {sent:10} {captured:10} {drops:12} {missing:12} {rate:10.2%} {mpps:10.3f} {gbps:10.2f}")
PY
}

run_backend pcap
run_backend ebpf
echo "drop_rate = kernel_drops / (captured + kernel_drops), from offpath's summary;" \
  "not_captured = sent (tcpreplay's count) - captured; for ebpf, less the ${PURE_ACKS:-?}" \
  "payload-less ACKs its kernel filter skips by design."
