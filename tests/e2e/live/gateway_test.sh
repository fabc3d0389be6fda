#!/bin/bash
# End-to-end live capture through a real gateway, as root, in network namespaces made here:
#
#   client ns (curl) ── veth ── gateway ns (nginx :8080, offpath on the client-side veth)
#                                    └── veth ── backend ns (python3 http.server :8081)
#
# Usage: gateway_test.sh OFFPATH_BINARY pcap|ebpf SCENARIO
#   mix       keep-alive GETs, a POST, a 1 MB download, 404, 500, then the backend stops
#             and nginx answers 502: every exchange captured, paired and classified.
#   refused   the backend refuses connections from the start: 502, backend_unavailable.
#   reset     a client resets its connection while the backend is still thinking:
#             no response, outcome connection_reset.
#   detach    (ebpf) a second instance on the same veth is refused; after exit no filter
#             of ours is left; a SIGKILLed run is cleaned up by the next one.
#   ledger    --ledger-interval 1 with requests seconds apart: idle ticks close the
#             intervals; the coverage records sit between the lines they count, end on
#             whole seconds and add up to the summary (tests/replay/ledger.py --check).
#   drops     keep-alive load at full speed, half of it proxied to the backend, captured
#             on both legs into a 1 MB buffer that offpath stops reading now and then
#             (SIGSTOP, as an overloaded host would): the kernel drops packets, yet no
#             record pairs a request with another's response (nginx echoes each request's
#             URI in X-Echo-Uri, the backend in X-Backend-Uri) and every loss shows (`gap`).
#             Each leg is checked apart: --gateway none.
#   auto      both legs without --gateway: once the gateway namespace has served and
#             opened an HTTP connection, offpath takes its addresses as the gateway's
#             (the live default) and joins each client request with its upstream attempt:
#             a backend 200 and 500, and a refused connect after the backend stops (502
#             of the gateway's own making). The first request is published as two legs.
# Exit 0 on success, 1 on failure, 77 when it cannot run here (not root, no nginx).
set -euo pipefail

BIN=${1:?offpath binary}
BACKEND=${2:?pcap or ebpf}
SCENARIO=${3:?scenario}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root"; exit 77; fi
for tool in nginx curl ip tc "$PY"; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

ID="oplive-$$-${BACKEND}-${SCENARIO}"
# shellcheck source=lab.sh
source "$HERE/lab.sh"
start_nginx

# --- offpath -----------------------------------------------------------------------------
OFFPATH_ARGS=(-i g0 --capture "$BACKEND" --publish all --port 8080)
capturing() {  # on every veth given with -i
  local dev sockets=0
  for dev in g0 g1; do
    [[ " ${OFFPATH_ARGS[*]} " == *" -i $dev "* ]] || continue
    sockets=$((sockets + 1))
    if [[ $BACKEND == ebpf ]]; then
      in_g tc filter show dev "$dev" ingress | grep -q offpath_ingress || return 1
    fi
  done
  # pcap: a packet socket per veth in the gateway namespace with the --port filter in place
  # (libpcap rejects everything while it swaps filters in).
  [[ $BACKEND == ebpf || $(in_g ss -0 -b | grep -c ' 8080,') -ge $sockets ]]
}
start_offpath() {  # $1: name of the output files
  ip netns exec "$NS_G" "$BIN" "${OFFPATH_ARGS[@]}" >"$WORK/$1.jsonl" 2>"$WORK/$1.err" &
  OFFPATH_PID=$!
  PIDS+=("$OFFPATH_PID")
  wait_until 10 capturing || fail "offpath did not start capturing: $(cat "$WORK/$1.err")"
}
stop_offpath() {
  sleep 1  # let the last packets reach the ring
  kill -TERM "$OFFPATH_PID"
  local rc=0
  for _ in $(seq 150); do kill -0 "$OFFPATH_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$OFFPATH_PID" 2>/dev/null && fail "offpath did not exit within 15 s of SIGTERM"
  wait "$OFFPATH_PID" || rc=$?
  [[ $rc -eq 0 ]] || fail "offpath exited with $rc"
}

# Compares the exchanges offpath printed with the expected ones (order-insensitive).
# Each expected line: METHOD URI STATUS OUTCOME ERROR_TYPE [BODY_SIZE] (- for null).
check_exchanges() {  # $1: jsonl file, stdin: expected lines
  cat >"$WORK/expected.txt"
  "$PY" - "$1" "$WORK/expected.txt" <<'PYEOF'
import json, sys
got = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    ex = json.loads(line)
    if ex["schema"] != "offpath/1":
        continue  # the coverage ledger's records
    assert ex["client"]["ip"] == "192.0.2.1", ex["client"]
    assert ex["server"]["ip"] == "192.0.2.2" and ex["server"]["port"] == 8080, ex["server"]
    req, resp = ex.get("request"), ex.get("response")
    row = [req["method"] if req else "-", req["uri"] if req else "-",
           str(resp["status"]) if resp else "-", ex["outcome"], ex["error_type"] or "-"]
    got.append((row, resp))
want = [l.split() for l in open(sys.argv[2]).read().strip().splitlines()]
def key(r): return " ".join(r[:5])
ok = True
remaining = list(got)
for w in want:
    match = next((g for g in remaining if key(g[0]) == key(w)), None)
    if match is None:
        print("missing exchange:", key(w)); ok = False; continue
    remaining.remove(match)
    if len(w) > 5:
        size = match[1]["body_size"] if match[1] else None
        if str(size) != w[5]:
            print("body_size of", key(w), "is", size, "not", w[5]); ok = False
for g in remaining:
    print("unexpected exchange:", key(g[0])); ok = False
print(f"{len(got)} exchanges captured, {len(want)} expected")
sys.exit(0 if ok else 1)
PYEOF
}

curl_status() {  # $@: curl arguments and URLs; prints one status code per URL
  local args=()
  for a in "$@"; do
    [[ $a == http://* ]] && args+=(-o /dev/null)
    args+=("$a")
  done
  in_c curl -s --max-time 10 -w '%{http_code}\n' "${args[@]}"
}

# --- scenarios ---------------------------------------------------------------------------
case $SCENARIO in
mix)
  start_backend
  start_offpath run
  log "keep-alive pair"
  [[ $(curl_status http://192.0.2.2:8080/ok http://192.0.2.2:8080/ok?second | tr '\n' ' ') == "200 200 " ]] ||
    fail "keep-alive pair"
  [[ $(curl_status -X POST --data 'hello=world' http://192.0.2.2:8080/echo) == 200 ]] || fail "POST"
  [[ $(curl_status http://192.0.2.2:8080/big) == 200 ]] || fail "1 MB download"
  [[ $(curl_status http://192.0.2.2:8080/missing) == 404 ]] || fail "404"
  [[ $(curl_status http://192.0.2.2:8080/error) == 500 ]] || fail "500"
  log "stopping the backend"
  kill -TERM "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null || true
  [[ $(curl_status http://192.0.2.2:8080/ok?after-stop) == 502 ]] || fail "502 after stop"
  log "traffic to a port outside --port (refused)"
  in_c curl -s --max-time 3 -o /dev/null http://192.0.2.2:9/ || true
  stop_offpath
  # The summary of a live run always has its capture line; the eBPF backend adds the
  # kernel's own counters, which account for every packet and show the port filter.
  grep -q '^offpath: capture kernel_drops=0 ' "$WORK/run.err" ||
    fail "no capture line with kernel_drops=0 in the summary: $(cat "$WORK/run.err")"
  if [[ $BACKEND == ebpf ]]; then
    "$PY" - "$WORK/run.err" <<'PYEOF' || fail "eBPF kernel counters in the summary"
import re, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("offpath: capture_backend "))
c = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
parts = sum(v for k, v in c.items() if k.startswith(("skip_", "lost_")) or k == "submitted")
assert c["seen"] == parts, f"seen={c['seen']} but the outcomes add up to {parts}: {c}"
assert c["skip_port"] >= 2, f"the SYN and RST to port 9 were not dropped in the kernel: {c}"
assert c["submitted"] > 0 and c["skip_empty_ack"] > 0, c
print("kernel counters:", line.strip())
PYEOF
  fi
  check_exchanges "$WORK/run.jsonl" <<'EOF' || fail "exchanges differ"
GET /ok 200 complete - 3
GET /ok?second 200 complete - 3
POST /echo 200 complete - 16
GET /big 200 complete - 1048576
GET /missing 404 complete client_error
GET /error 500 complete server_error
GET /ok?after-stop 502 complete backend_unavailable
EOF
  ;;
refused)
  start_offpath run
  [[ $(curl_status http://192.0.2.2:8080/ok?refused http://192.0.2.2:8080/missing?refused | tr '\n' ' ') == "502 502 " ]] ||
    fail "nginx should answer 502 while the backend refuses"
  stop_offpath
  check_exchanges "$WORK/run.jsonl" <<'EOF' || fail "exchanges differ"
GET /ok?refused 502 complete backend_unavailable
GET /missing?refused 502 complete backend_unavailable
EOF
  ;;
reset)
  start_backend
  start_offpath run
  [[ $(curl_status http://192.0.2.2:8080/ok?before-reset) == 200 ]] || fail "GET before the reset"
  in_c "$PY" "$HERE/reset_client.py" 192.0.2.2 8080 /slow?reset
  stop_offpath
  check_exchanges "$WORK/run.jsonl" <<'EOF' || fail "exchanges differ"
GET /ok?before-reset 200 complete -
GET /slow?reset - connection_reset backend_unavailable
EOF
  ;;
ledger)
  start_backend
  OFFPATH_ARGS+=(--ledger-interval 1)
  start_offpath run
  for i in 1 2 3; do
    [[ $(curl_status "http://192.0.2.2:8080/ok?ledger$i") == 200 ]] || fail "GET $i"
    sleep 1.6  # longer than the idle tick: intervals close without packets
  done
  [[ $(curl_status http://192.0.2.2:8080/missing?ledger) == 404 ]] || fail "404"
  stop_offpath
  "$PY" "$HERE/../../replay/ledger.py" --schema "$HERE/../../../docs/schema/offpath-coverage-1.schema.json" \
    --check "$WORK/run.jsonl" "$WORK/run.err" --interval-us 1000000 --min-records 4 ||
    fail "coverage ledger: $(grep -c coverage "$WORK/run.jsonl") records; $(cat "$WORK/run.err")"
  grep -v '"offpath/coverage/1"' "$WORK/run.jsonl" >"$WORK/exchanges.jsonl"
  check_exchanges "$WORK/exchanges.jsonl" <<'EOF' || fail "exchanges differ"
GET /ok?ledger1 200 complete -
GET /ok?ledger2 200 complete -
GET /ok?ledger3 200 complete -
GET /missing?ledger 404 complete client_error
EOF
  ;;
detach)
  [[ $BACKEND == ebpf ]] || { echo "SKIP: detach is an eBPF scenario"; exit 77; }
  start_backend
  start_offpath run
  log "a second instance on g0 is refused"
  rc=0
  in_g timeout 20 "$BIN" "${OFFPATH_ARGS[@]}" >"$WORK/second.jsonl" 2>"$WORK/second.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "a second instance on g0 was accepted"
  grep -q "already capturing on 'g0'" "$WORK/second.err" || fail "refusal does not say why: $(cat "$WORK/second.err")"
  [[ $(curl_status http://192.0.2.2:8080/ok?first) == 200 ]] || fail "GET"
  stop_offpath
  [[ -z $(in_g tc filter show dev g0 ingress) && -z $(in_g tc filter show dev g0 egress) ]] ||
    fail "filters left after exit: $(in_g tc filter show dev g0 ingress)"
  check_exchanges "$WORK/run.jsonl" <<'EOF' || fail "exchanges differ"
GET /ok?first 200 complete -
EOF
  log "a killed run is cleaned up by the next"
  start_offpath killed
  kill -KILL "$OFFPATH_PID"; wait "$OFFPATH_PID" 2>/dev/null || true
  in_g tc filter show dev g0 ingress | grep -q offpath_ingress || fail "the killed run left nothing to clean"
  stale=$(in_g tc filter show dev g0 ingress | grep -o ' id [0-9]*')
  start_offpath restarted
  # The stale filter already satisfies "capturing": wait for the new program.
  new_program() { [[ $(in_g tc filter show dev g0 ingress | grep -o ' id [0-9]*') != "$stale" ]]; }
  wait_until 10 new_program || fail "the restarted run did not replace the stale filter"
  [[ $(in_g tc filter show dev g0 ingress | grep -c 'handle 0x4f50') -eq 1 ]] || fail "stale filter not replaced"
  [[ $(curl_status http://192.0.2.2:8080/ok?restarted) == 200 ]] || fail "GET after restart"
  stop_offpath
  [[ -z $(in_g tc filter show dev g0 ingress) && -z $(in_g tc filter show dev g0 egress) ]] ||
    fail "filters left after the restarted run"
  check_exchanges "$WORK/restarted.jsonl" <<'EOF' || fail "exchanges differ after restart"
GET /ok?restarted 200 complete -
EOF
  ;;
drops)
  CONNECTIONS=8
  REQUESTS=600
  OFFPATH_ARGS+=(-i g1 --port 8081 --buffer-mb 1 --gateway none)
  start_backend
  start_offpath run
  log "load: $CONNECTIONS keep-alive connections x $REQUESTS requests, offpath paused at times"
  LOAD_PIDS=()
  for c in $(seq 0 $((CONNECTIONS - 1))); do
    path=/load/f  # served by nginx; every other client's requests go to the backend
    [[ $((c % 2)) -eq 1 ]] && path=/ok
    for i in $(seq 0 $((REQUESTS - 1))); do
      printf 'url = "http://192.0.2.2:8080%s?c=%d&i=%d"\noutput = "/dev/null"\n' "$path" "$c" "$i"
    done >"$WORK/load-$c.curl"
    in_c curl -s --max-time 40 -w '%{http_code}\n' -K "$WORK/load-$c.curl" >"$WORK/load-$c.out" &
    LOAD_PIDS+=("$!")
    PIDS+=("$!")
  done
  # Drops while the connections are in full flow: the ring fills while offpath sleeps.
  load_running() { for pid in "${LOAD_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
  while load_running; do
    kill -STOP "$OFFPATH_PID"; sleep 0.15; kill -CONT "$OFFPATH_PID"; sleep 0.6
  done
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" || fail "a load client failed"; done
  ok=$(cat "$WORK"/load-*.out | grep -c '^200$' || true)
  [[ $ok -eq $((CONNECTIONS * REQUESTS)) ]] || fail "only $ok of $((CONNECTIONS * REQUESTS)) requests got 200"
  stop_offpath
  grep '^offpath: capture' "$WORK/run.err" || true
  "$PY" "$HERE/check_pairing.py" "$WORK/run.jsonl" "$WORK/run.err" "$CONNECTIONS" "$REQUESTS" ||
    fail "pairing after loss"
  ;;
auto)
  OFFPATH_ARGS+=(-i g1 --port 8081)
  start_backend
  start_offpath run
  # The first request's two legs teach offpath that this host is a gateway; what follows
  # is joined. Until it has said so (bounded), requests are only a lesson.
  learned() {
    [[ $(curl_status http://192.0.2.2:8080/ok?first) == 200 ]] || fail "first GET"
    grep -q 'gateway view: this host serves and opens' "$WORK/run.err"
  }
  wait_until 10 learned ||
    fail "offpath did not take this host as a gateway: $(cat "$WORK/run.err")"
  [[ $(curl_status http://192.0.2.2:8080/ok?joined) == 200 ]] || fail "joined GET"
  [[ $(curl_status http://192.0.2.2:8080/error) == 500 ]] || fail "500 from the backend"
  kill -TERM "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null || true
  [[ $(curl_status http://192.0.2.2:8080/ok?down) == 502 ]] || fail "502 after the stop"
  stop_offpath
  "$PY" - "$WORK/run.jsonl" <<'PYEOF' || fail "joined records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = [r for r in recs if r["schema"] == "offpath/1"]
by_uri = {}
for r in recs:
    if r.get("request"):
        by_uri.setdefault((r["request"]["uri"], r["server"]["port"]), []).append(r)
def one(uri, port=8080):
    got = by_uri.get((uri, port), [])
    assert len(got) == 1, f"{uri} on port {port}: {len(got)} records"
    return got[0]
# The first request's legs came (one of them) before the host was known as a gateway:
# both are published, unjoined; which one has gateway fields depends on which came first.
first = by_uri[("/ok?first", 8081)][0]
assert first.get("leg") in (None, "upstream"), first
assert by_uri[("/ok?first", 8080)][0].get("upstream") is None
want = {"/ok?joined": (200, 200, "complete", None),
        "/error": (500, 500, "complete", "upstream"),
        "/ok?down": (502, None, "connection_refused", "gateway")}
for uri, (status, up_status, up_outcome, origin) in want.items():
    r = one(uri)
    assert r["leg"] == "client", r
    assert r["response"]["status"] == status, r
    up = r["upstream"]
    assert up and up["addr"] == "198.51.100.2:8081", r
    assert up["status"] == up_status and up["outcome"] == up_outcome, up
    assert up["attempts"] == 1, up
    assert r["failure_origin"] == origin, r
    assert (uri, 8081) not in by_uri, f"the joined upstream leg of {uri} was published alone"
print(f"{len(recs)} records: the first request as two legs, then every client request joined")
PYEOF
  ;;
*)
  fail "unknown scenario $SCENARIO"
  ;;
esac
log "PASS: $BACKEND $SCENARIO"
