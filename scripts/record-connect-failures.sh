#!/usr/bin/env bash
# Records the two connect-failure captures in pcaps/ from a real stack:
#   connect-refused   curl to a port nothing listens on: the server's kernel answers the
#                     SYN with a RST.
#   connect-timeout   curl to a listening port whose SYN-ACKs never leave the server:
#                     the server namespace routes the client address to a blackhole,
#                     so curl retransmits its SYN until --connect-timeout gives up.
# Network: namespaces opcf<pid>c (client, 10.232.0.1) and opcf<pid>s (server,
# 10.232.0.2) joined by one veth pair opcf<pid>a/opcf<pid>b; addresses only on that pair,
# static neighbour entries (no ARP in the captures); all removed on exit.
# Writes pcaps/NAME.pcap, pcaps/NAME.expected.jsonl (what a plain --publish all replay
# gives: nothing, no request was ever sent) and pcaps/NAME.connect-failures.jsonl (what
# --connect-failures adds; checked by tests/replay/filters.py).
#
# Usage: scripts/record-connect-failures.sh     (as root; needs iproute2, tcpdump, curl, python3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(dirname "$here")/pcaps
py=/usr/bin/python3
limit=60

log() { echo "record-connect-failures: $*" >&2; }
die() { log "$*"; exit 1; }

[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, tcpdump)"
for tool in ip tcpdump curl timeout; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

tag=opcf$$
ns_c=${tag}c ns_s=${tag}s if_c=${tag}a if_s=${tag}b
cli4=10.232.0.1 srv4=10.232.0.2
work=$(mktemp -d /tmp/opcf.XXXXXX)
pids=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns_c" 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  rm -rf "$work"
  ((rc == 0)) || log "failed (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD...: polls CMD every 0.1 s, fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

ip netns add "$ns_c"
ip netns add "$ns_s"
ip link add "$if_c" netns "$ns_c" type veth peer name "$if_s" netns "$ns_s"
ip -n "$ns_c" addr add "$cli4/24" dev "$if_c"
ip -n "$ns_s" addr add "$srv4/24" dev "$if_s"
for pair in "$ns_c:$if_c" "$ns_s:$if_s"; do
  ns=${pair%%:*} ifname=${pair#*:}
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$ifname" up
  ip netns exec "$ns" "$py" "$here/pcap-scenarios/txcsum-off.py" "$ifname"
done
mac_c=$(ip -n "$ns_c" -br link show "$if_c" | awk '{print $3}')
mac_s=$(ip -n "$ns_s" -br link show "$if_s" | awk '{print $3}')
ip -n "$ns_c" neigh replace "$srv4" lladdr "$mac_s" dev "$if_c" nud permanent
ip -n "$ns_s" neigh replace "$cli4" lladdr "$mac_c" dev "$if_s" nud permanent

# A listener for connect-timeout: it would accept, but its SYN-ACKs are blackholed.
ip netns exec "$ns_s" timeout "$limit" "$py" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.232.0.2", 8082)); s.listen(16); time.sleep(3600)' >"$work/listener.log" 2>&1 &
pids+=($!)
wait_for 5 ip netns exec "$ns_s" sh -c "ss -Htln 'sport = :8082' | grep -q 8082" ||
  die "the listener on 8082 did not start"

# record NAME PORT EXPECTED_CURL_EXIT CURL_ARGS...: one capture of one curl attempt.
record() {
  local name=$1 port=$2 want_rc=$3
  shift 3
  local cap=$work/$name.pcap
  ip netns exec "$ns_c" timeout "$limit" tcpdump -i "$if_c" -n -s 65535 -U --immediate-mode \
    -Z root -w "$cap" tcp >"$work/$name.tcpdump.log" 2>&1 &
  local tcpdump_pid=$!
  pids+=("$tcpdump_pid")
  wait_for 5 grep -qs 'listening on' "$work/$name.tcpdump.log" || die "$name: tcpdump did not start"
  local rc=0
  ip netns exec "$ns_c" timeout 20 curl -sS "$@" "http://$srv4:$port/" >"$work/$name.curl.log" 2>&1 || rc=$?
  [[ $rc -eq $want_rc ]] || die "$name: curl exited $rc, expected $want_rc: $(cat "$work/$name.curl.log")"
  sleep 0.3
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true
  grep -q '^0 packets dropped by kernel' "$work/$name.tcpdump.log" ||
    die "$name: tcpdump lost packets"
  # The client port of the one attempt, from its SYNs.
  local ports
  ports=$(tcpdump -r "$cap" -n 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null |
    sed -E 's/.* '"$cli4"'\.([0-9]+) > .*/\1/' | sort -u)
  [[ $(wc -w <<<"$ports") -eq 1 ]] || die "$name: expected one connection attempt, saw: $ports"
  cp "$cap" "$out/$name.pcap"
  : >"$out/$name.expected.jsonl"
  echo "$ports"
}

# connect-refused: nothing listens on 8081.
port=$(record connect-refused 8081 7 --max-time 5)
printf '{"conn": "%s:%s-%s:8081", "method": null, "uri": null, "status": null, "outcome": "connection_refused"}\n' \
  "$cli4" "$port" "$srv4" >"$out/connect-refused.connect-failures.jsonl"
tcpdump -r "$out/connect-refused.pcap" -n 2>/dev/null | grep -q 'Flags \[R' ||
  die "connect-refused: no RST in the capture"

# connect-timeout: replies to the client are dropped by the server's routing.
ip -n "$ns_s" route add blackhole "$cli4/32"
port=$(record connect-timeout 8082 28 --connect-timeout 4)
printf '{"conn": "%s:%s-%s:8082", "method": null, "uri": null, "status": null, "outcome": "connect_timeout"}\n' \
  "$cli4" "$port" "$srv4" >"$out/connect-timeout.connect-failures.jsonl"
syns=$(tcpdump -r "$out/connect-timeout.pcap" -n 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null | wc -l)
((syns >= 2)) || die "connect-timeout: expected SYN retransmissions, saw $syns SYN(s)"
if tcpdump -r "$out/connect-timeout.pcap" -n 2>/dev/null | grep -q "$srv4.8082 >"; then
  die "connect-timeout: the server answered"
fi
log "wrote connect-refused and connect-timeout to $out"
