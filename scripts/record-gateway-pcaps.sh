#!/usr/bin/env bash
# Records the gateway-view replay captures in pcaps/: a real nginx gateway between a curl
# client and two python3 http.server backends, both legs in one capture.
#
# Three network namespaces, addresses only on two veth pairs: <tag>c (client,
# 10.232.0.1) - <tag>g (gateway, 10.232.0.2 and 10.232.1.1) - <tag>b (backends,
# 10.232.1.2 ports 8081 and 8082; port 8089 closed). nginx connects to the backends
# from 10.232.0.2 too (proxy_bind), so that one address is the server of the client
# leg and the client of the upstream leg, and a replay finds the gateway by itself. tcpdump -i any in the gateway
# namespace captures the client leg and the upstream leg together. One keep-alive curl
# asks in turn for: a 200, a 404 the backend sends, a 502 (the upstream port is closed),
# a retry to the second backend after a refused connect (proxy_next_upstream), a rewrite
# /api/ -> /v1/ and a 504 (the backend answers after 3 s, proxy_read_timeout is 1 s).
#   gateway-joined-ids     nginx sets X-Request-ID ($request_id) on the upstream request
#                          and on the response to the client: the legs join by request id
#   gateway-joined-timing  no request id anywhere: the legs join by timing, method, URI
#   gateway-joined-load    no request id; 160 GETs, 16 at a time on their own connections,
#                          each with its own target (/api/items?n=1..120 rewritten to
#                          /v1/..., /ok?n=1..40): overlapping legs joined by timing and target
# nginx's access log ($request_uri $status $upstream_addr $upstream_status) is written
# next to each capture as pcaps/NAME.nginx.log, to check the joined records against.
# The expected files are written by hand from offpath's output checked against that log
# (see pcaps/README.md); this script only records.
#
# Usage: scripts/record-gateway-pcaps.sh [NAME...]     (as root; needs nginx, tcpdump, curl)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(dirname "$here")/pcaps
py=/usr/bin/python3
tag=opgw$$
ns_c=${tag}c ns_g=${tag}g ns_b=${tag}b
work=$(mktemp -d /tmp/opgw.XXXXXX)
pids=()
names=("$@")

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "$ns_c" "$ns_g" "$ns_b"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

[[ $(id -u) -eq 0 ]] || { echo "record-gateway-pcaps: needs root" >&2; exit 1; }

ip netns add "$ns_c"; ip netns add "$ns_g"; ip netns add "$ns_b"
ip link add ${tag}a netns "$ns_c" type veth peer name ${tag}b netns "$ns_g"
ip link add ${tag}d netns "$ns_g" type veth peer name ${tag}e netns "$ns_b"
ip -n "$ns_c" addr add 10.232.0.1/24 dev ${tag}a
ip -n "$ns_g" addr add 10.232.0.2/24 dev ${tag}b
ip -n "$ns_g" addr add 10.232.1.1/24 dev ${tag}d
ip -n "$ns_b" addr add 10.232.1.2/24 dev ${tag}e
for ns in "$ns_c" "$ns_g" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_c" link set ${tag}a up; ip -n "$ns_g" link set ${tag}b up
ip -n "$ns_g" link set ${tag}d up; ip -n "$ns_b" link set ${tag}e up
# nginx opens upstream connections from the address it serves on (proxy_bind), as a
# single-address gateway host would: the backends route it back through their veth.
ip -n "$ns_b" route add 10.232.0.2/32 dev ${tag}e
# Checksums the kernel would leave to the NIC are filled in, as on a real wire.
for pair in "$ns_c ${tag}a" "$ns_g ${tag}b" "$ns_g ${tag}d" "$ns_b ${tag}e"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
done

cat >"$work/backend.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/slow"):
            time.sleep(3)
        status = 404 if self.path.endswith("/missing") else 200
        body = ("%s %s from %s\n" % (status, self.path, sys.argv[1])).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
    def log_message(self, *a):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the load capture's 16 connects at once all get through
Server(("10.232.1.2", int(sys.argv[1])), H).serve_forever()
PY
for port in 8081 8082; do
  timeout 300 ip netns exec "$ns_b" $py "$work/backend.py" $port &
  pids+=($!)
done

record() {
  local name=$1 ids=$2 dir=$work/$1
  mkdir -p "$dir"
  local idconf=""
  if [[ $ids == 1 ]]; then
    idconf="proxy_set_header X-Request-ID \$request_id; add_header X-Request-ID \$request_id always;"
  fi
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  log_format gw '\$request_method \$request_uri \$status \$upstream_addr \$upstream_status';
  upstream ok { server 10.232.1.2:8081; }
  upstream down { server 10.232.1.2:8089; }
  upstream retry { server 10.232.1.2:8089 max_fails=0; server 10.232.1.2:8082 max_fails=0; }
  server {
    listen 10.232.0.2:8080;
    access_log $dir/access.log gw;
    proxy_connect_timeout 1s; proxy_read_timeout 1s; proxy_bind 10.232.0.2;
    $idconf
    location /api/ { proxy_pass http://ok/v1/; }
    location /down/ { proxy_pass http://down; }
    location /retry/ { proxy_pass http://retry; proxy_next_upstream error; }
    location / { proxy_pass http://ok; }
  }
}
EOF
  timeout 120 ip netns exec "$ns_g" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" \
    -g 'daemon off;' &
  local nginx=$!
  pids+=($nginx)
  for _ in $(seq 50); do
    ip netns exec "$ns_g" ss -ltn | grep -q 10.232.0.2:8080 && break
    sleep 0.1
  done
  timeout 60 ip netns exec "$ns_g" tcpdump -i any -s 0 -U -w "$dir/cap.pcap" tcp 2>/dev/null &
  local dump=$!
  pids+=($dump)
  sleep 1
  local u=http://10.232.0.2:8080
  if [[ $ids == load ]]; then
    # 16 connections at once, each request its own target: many overlapping attempts.
    ip netns exec "$ns_c" curl -sS --no-progress-meter --max-time 20 -Z --parallel-max 16 \
      "$u/api/items?n=[1-120]" "$u/ok?n=[1-40]" >/dev/null || true
    sleep 2
  else
    ip netns exec "$ns_c" curl -sS --max-time 20 -o /dev/null -o /dev/null -o /dev/null \
      -o /dev/null -o /dev/null -o /dev/null \
      "$u/ok" "$u/missing" "$u/down/x" "$u/retry/x" "$u/api/items" "$u/slow" || true
    sleep 3  # the backend's late answer to /slow, then quiet
  fi
  kill "$dump"; wait "$dump" 2>/dev/null || true
  kill "$nginx"; wait "$nginx" 2>/dev/null || true
  cp "$dir/cap.pcap" "$out/$name.pcap"
  cp "$dir/access.log" "$out/$name.nginx.log"
  echo "record-gateway-pcaps: $name: $(wc -l <"$dir/access.log") requests" >&2
}

((${#names[@]})) || names=(gateway-joined-ids gateway-joined-timing gateway-joined-load)
for n in "${names[@]}"; do
  case $n in
    gateway-joined-ids) record "$n" 1 ;;
    gateway-joined-timing) record "$n" 0 ;;
    gateway-joined-load) record "$n" load ;;
    *) echo "record-gateway-pcaps: unknown capture $n" >&2; exit 2 ;;
  esac
done
