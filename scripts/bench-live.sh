#!/bin/bash
# What a client sees through the gateway, with and without offpath attached.
# Runs wrk from a client namespace through nginx to a python3 backend (the topology of
# tests/e2e/live/lab.sh), first with nothing attached, then with offpath on the gateway's
# client-side veth with each capture backend, and prints wrk's latency percentiles.
# A measurement, not a test: it asserts nothing about the numbers. Needs root and wrk.
#
# Usage: scripts/bench-live.sh BUILD_DIR [SECONDS] [CONNECTIONS]
set -euo pipefail

BUILD=${1:?build directory holding offpath}
DURATION=${2:-10}
CONNECTIONS=${3:-16}
BIN=$BUILD/offpath
HERE=$(cd "$(dirname "$0")/../tests/e2e/live" && pwd)
PY=/usr/bin/python3

[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 77; }
[[ -x $BIN ]] || { echo "no offpath binary at $BIN"; exit 1; }

ID="oplive-$$-bench"
# shellcheck source=../tests/e2e/live/lab.sh
source "$HERE/lab.sh"
start_backend
start_nginx

run_wrk() {  # $1: label
  in_c wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency http://192.0.2.2:8080/ok \
    >"$WORK/wrk-$1.txt" 2>&1 || fail "wrk failed: $(cat "$WORK/wrk-$1.txt")"
  local p50 p90 p99 rps
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk-$1.txt")
  p90=$(awk '$1 == "90%" {print $2}' "$WORK/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$1.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$1.txt")
  WRK_REQUESTS=$(awk '/requests in/ {print $1}' "$WORK/wrk-$1.txt")
  printf '%-22s p50 %-9s p90 %-9s p99 %-9s req/s %-9s requests %s\n' "$1" "$p50" "$p90" \
    "$p99" "$rps" "$WRK_REQUESTS"
}

with_offpath() {  # $1: backend
  ip netns exec "$NS_G" "$BIN" -i g0 --capture "$1" --port 8080 --publish all \
    >"$WORK/bench-$1.jsonl" 2>"$WORK/offpath-$1.err" &
  local pid=$!
  PIDS+=("$pid")
  sleep 2
  kill -0 "$pid" 2>/dev/null || fail "offpath ($1) did not start: $(cat "$WORK/offpath-$1.err")"
  run_wrk "offpath --capture $1"
  kill -TERM "$pid"
  wait "$pid" || fail "offpath ($1) exited with $?"
  echo "    offpath --capture $1 printed $(wc -l <"$WORK/bench-$1.jsonl") exchanges" \
    "for $WRK_REQUESTS requests (wrk stops with some in flight)"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s through nginx, $(nproc) cores"
in_c wrk -t1 -c1 -d1s http://192.0.2.2:8080/ok >/dev/null 2>&1 || true  # warm-up
run_wrk "no capture"
with_offpath pcap
with_offpath ebpf
run_wrk "no capture (again)"
