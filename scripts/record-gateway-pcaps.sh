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
#   gateway-joined-failures  no request id; what backends do wrong: a 500, a 503, a reset in
#                          the status line (nginx's 502), a reset in the body (the client
#                          gets the 200 cut short), and a client that gives up on a slow
#                          answer (nginx's 499)
#   gateway-haproxy        HAProxy 2.6 instead of nginx: a 200, the backend's 404 and 500,
#                          two /retry/ requests on a backend whose first server is the
#                          closed port (retries 1, option redispatch: one is refused, then
#                          sent to the second server), a backend whose only server is down
#                          (its health check is refused every 300 ms: 503, no connection),
#                          a reset in the status line (502) and the 1 s server timeout (504)
#   gateway-grpc           gRPC through nginx, HTTP/2 in cleartext on both legs: a
#                          python3-grpcio client (scripts/pcap-scenarios/grpcpeer.py
#                          gateway-calls, one connection) -> nginx `listen ... http2`,
#                          `grpc_pass` to a keep-alive pool -> a python3-grpcio server on
#                          10.232.1.2:50051. No request id: the legs join by timing, method
#                          and path. A call that succeeds, six at once (six streams in
#                          flight), a NOT_FOUND in the backend's trailers-only answer, a
#                          0.3 s deadline on a 2 s call, then, the server stopped, a call
#                          nginx answers with its own 502 after a refused connect. nginx
#                          passes grpc-timeout on: the backend answers DEADLINE_EXCEEDED
#                          itself, at about the time the client cancels (either may come
#                          first: nginx then logs the backend's 200 or its own 499)
#   gateway-grpc-cancel    the same, but nginx drops grpc-timeout: the backend knows no
#                          deadline, the client cancels its stream after 0.3 s (nginx's
#                          499, no upstream status): nginx closes its upstream connection,
#                          and only then does the backend answer (UNAVAILABLE)
#   gateway-grpc-ids       as gateway-grpc, but the six calls at once all go to one method,
#                          and nginx sets X-Request-ID ($request_id) on the upstream request
#                          and on the response to the client: the legs join by request id
#                          (by timing alone the six would be ambiguous); its log ends with
#                          id=$request_id
# nginx's access log ($request_uri $status $upstream_addr $upstream_status; for
# gateway-grpc also "grpc=" and the backend's grpc-status, from its headers or trailers)
# is written next to each capture as pcaps/NAME.nginx.log, HAProxy's ("%HM %HU %ST %si:%sp %rc %tsc":
# the last server tried, the retries, the termination state) as pcaps/NAME.haproxy.log,
# to check the joined records against.
# The expected files are written by hand from offpath's output checked against that log
# (see pcaps/README.md); this script only records.
#
# Usage: scripts/record-gateway-pcaps.sh [NAME...]
#   (as root; needs nginx, haproxy, tcpdump, curl; gateway-grpc python3-grpcio)
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
import http.server, socket, struct, sys, time
STATUS = {"/missing": 404, "/error": 500, "/unavail": 503}
class H(http.server.BaseHTTPRequestHandler):
    def reset(self, partial):
        # The first bytes of a response, then a RST (linger 0).
        self.wfile.write(partial)
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
    def do_GET(self):
        if self.path.endswith("/reset-head"):
            return self.reset(b"HTTP/1.1 200 OK\r\nContent-")
        if self.path.endswith("/reset-body"):
            return self.reset(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + b"x" * 512)
        if self.path.endswith("/slow"):
            time.sleep(3)
        status = STATUS.get("/" + self.path.split("?")[0].rsplit("/", 1)[-1], 200)
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

# Stops the capture and the gateway (pid $3), then keeps the capture as pcaps/$1.pcap
# and the gateway's log $2/$4 as pcaps/$1.$5.
finish_capture() {
  local name=$1 dir=$2 gw=$3 log=$4 kept=$5
  kill "$dump_pid"; wait "$dump_pid" 2>/dev/null || true
  kill "$gw"; wait "$gw" 2>/dev/null || true
  cp "$dir/cap.pcap" "$out/$name.pcap"
  cp "$dir/$log" "$out/$name.$kept"
  echo "record-gateway-pcaps: $name: $(wc -l <"$dir/$log") requests" >&2
}

# Once the gateway listens, tcpdump -i any in its namespace into $1/cap.pcap (dump_pid).
start_dump() {
  for _ in $(seq 50); do
    ip netns exec "$ns_g" ss -ltn | grep -q 10.232.0.2:8080 && break
    sleep 0.1
  done
  timeout 60 ip netns exec "$ns_g" tcpdump -i any -s 0 -U -w "$1/cap.pcap" tcp 2>/dev/null &
  dump_pid=$!
  pids+=($dump_pid)
}

# nginx_conf DIR < HTTP: DIR/nginx.conf, one worker with its files in DIR, and the
# http block's directives from stdin.
nginx_conf() {
  local dir=$1
  { cat <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
EOF
    cat
    echo "}"
  } >"$dir/nginx.conf"
}

record() {
  local name=$1 ids=$2 dir=$work/$1
  mkdir -p "$dir"
  local idconf=""
  if [[ $ids == 1 ]]; then
    idconf="proxy_set_header X-Request-ID \$request_id; add_header X-Request-ID \$request_id always;"
  fi
  nginx_conf "$dir" <<EOF
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
EOF
  timeout 120 ip netns exec "$ns_g" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" \
    -g 'daemon off;' &
  local nginx=$!
  pids+=($nginx)
  start_dump "$dir"
  sleep 1
  local u=http://10.232.0.2:8080
  if [[ $ids == failures ]]; then
    ip netns exec "$ns_c" curl -sS --max-time 20 -o /dev/null -o /dev/null -o /dev/null \
      -o /dev/null "$u/error" "$u/unavail" "$u/reset-head" "$u/reset-body" || true
    # The client gives up before the backend answers: nginx logs 499.
    ip netns exec "$ns_c" curl -sS --max-time 0.5 -o /dev/null "$u/slow" || true
    sleep 3  # the backend's late answer, then quiet
  elif [[ $ids == load ]]; then
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
  finish_capture "$name" "$dir" "$nginx" access.log nginx.log
}

# HAProxy as the gateway; its log goes to stdout (one thread, so that no line is dropped).
record_haproxy() {
  local name=$1 dir=$work/$1
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<CFG
global
  log stdout format raw local0
  nbthread 1
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 10s
  timeout server 1s
  retries 1
frontend fe
  bind 10.232.0.2:8080
  log-format "%HM %HU %ST %si:%sp %rc %tsc"
  use_backend closed if { path_beg /closed/ }
  use_backend retry if { path_beg /retry/ }
  default_backend ok
backend ok
  source 10.232.0.2
  server a 10.232.1.2:8081
backend retry
  balance roundrobin
  option redispatch 1
  http-reuse never
  source 10.232.0.2
  server bad 10.232.1.2:8089
  server b 10.232.1.2:8082
backend closed
  source 10.232.0.2
  server down 10.232.1.2:8089 check inter 300ms fall 1 rise 100000
CFG
  timeout 120 ip netns exec "$ns_g" haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" \
    2>"$dir/haproxy.err" &
  local gw=$!
  pids+=($gw)
  start_dump "$dir"
  sleep 1  # the health check has marked the closed backend's server down by now
  local u=http://10.232.0.2:8080
  ip netns exec "$ns_c" curl -sS --max-time 20 -o /dev/null -o /dev/null -o /dev/null \
    -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$u/ok" "$u/missing" "$u/error" "$u/retry/x?n=1" "$u/retry/x?n=2" "$u/closed/x" \
    "$u/reset-head" "$u/slow" || true
  sleep 3  # the backend's late answer to /slow, then quiet
  finish_capture "$name" "$dir" "$gw" haproxy.log haproxy.log
}

# gRPC through nginx: grpcpeer.py's server behind `grpc_pass`, its client in front.
record_grpc() {
  local name=$1 extra=$2 calls=$3 dir=$work/$1 logid=""
  mkdir -p "$dir"
  [[ $extra == *X-Request-ID* ]] && logid=" id=\$request_id"
  nginx_conf "$dir" <<EOF
  log_format gw '\$request_method \$request_uri \$status \$upstream_addr \$upstream_status '
                'grpc=\$upstream_http_grpc_status\$upstream_trailer_grpc_status$logid';
  upstream grpcb { server 10.232.1.2:50051; keepalive 4; }
  server {
    listen 10.232.0.2:8080 http2;
    access_log $dir/access.log gw;
    grpc_connect_timeout 1s; grpc_read_timeout 5s; grpc_bind 10.232.0.2;
    location / { grpc_pass grpc://grpcb; $extra }
  }
EOF
  timeout 120 ip netns exec "$ns_b" $py "$here/pcap-scenarios/grpcpeer.py" serve \
    --bind 10.232.1.2 --port 50051 &
  local server=$!
  pids+=($server)
  timeout 120 ip netns exec "$ns_g" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" \
    -g 'daemon off;' &
  local nginx=$!
  pids+=($nginx)
  for _ in $(seq 50); do
    ip netns exec "$ns_b" ss -ltn | grep -q 10.232.1.2:50051 && break
    sleep 0.1
  done
  start_dump "$dir"
  sleep 1
  timeout 40 ip netns exec "$ns_c" $py "$here/pcap-scenarios/grpcpeer.py" gateway-calls \
    --target 10.232.0.2:8080 --stop-file "$dir/stopped" $calls >"$dir/client.log" 2>&1 &
  local client=$!
  for _ in $(seq 200); do [[ -e $dir/stopped.ready ]] && break; sleep 0.1; done
  sleep 2  # the backend's late answer to Slow, then the server stops
  kill "$server"; wait "$server" 2>/dev/null || true
  touch "$dir/stopped"
  local rc=0
  wait "$client" || rc=$?
  cat "$dir/client.log" >&2
  ((rc == 0)) || { echo "record-gateway-pcaps: $name: a call did not end as expected" >&2; exit 1; }
  sleep 1
  finish_capture "$name" "$dir" "$nginx" access.log nginx.log
}

((${#names[@]})) || names=(gateway-joined-ids gateway-joined-timing gateway-joined-load
                           gateway-joined-failures gateway-haproxy gateway-grpc
                           gateway-grpc-cancel gateway-grpc-ids)
for n in "${names[@]}"; do
  case $n in
    gateway-joined-ids) record "$n" 1 ;;
    gateway-joined-timing) record "$n" 0 ;;
    gateway-joined-load) record "$n" load ;;
    gateway-joined-failures) record "$n" failures ;;
    gateway-haproxy) record_haproxy "$n" ;;
    gateway-grpc) record_grpc "$n" "" "" ;;
    gateway-grpc-cancel) record_grpc "$n" "grpc_set_header grpc-timeout \"\";" "" ;;
    gateway-grpc-ids) record_grpc "$n" "grpc_set_header X-Request-ID \$request_id;
      add_header X-Request-ID \$request_id always;" --one-method ;;
    *) echo "record-gateway-pcaps: unknown capture $n" >&2; exit 2 ;;
  esac
done
