# Shared by gateway_test.sh and scripts/bench-live.sh: three network namespaces
#
#   client ns 192.0.2.1 (c0) ── veth ── (g0) 192.0.2.2 gateway ns: nginx :8080
#                                         (g1) 198.51.100.1 ── veth ── (b0) 198.51.100.2
#                                                                backend ns: python3 :8081
#                                                                    (b0) 198.51.100.3
#                                                                second backend (join_test.sh)
#
# Source it after setting ID (unique: include $$), HERE (this directory) and PY; it
# defines log, fail, in_c/in_g/in_b, wait_until, start_backend, start_backend_at,
# write_nginx_conf (lab.sh writes a one-backend config with it), start_nginx,
# start_haproxy (a config written to $WORK/haproxy.cfg first) and an EXIT
# trap that stops every process in PIDS and deletes the namespaces, whatever happens.
NS_C="${ID}-c"; NS_G="${ID}-g"; NS_B="${ID}-b"
WORK=$(mktemp -d "/tmp/${ID}.XXXXXX")
PIDS=()

log() { echo "[$(date +%T)] $*"; }
fail() { echo "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "$NS_C" "$NS_G" "$NS_B"; do ip netns del "$ns" 2>/dev/null || true; done
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then
    for f in "$WORK"/offpath*.err "$WORK"/error.log "$WORK"/haproxy.err; do
      [[ -s $f ]] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_c() { ip netns exec "$NS_C" "$@"; }
in_g() { ip netns exec "$NS_G" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# Polls a command every 0.1 s for at most $1 seconds.
wait_until() {
  local limit=$1; shift
  for _ in $(seq $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# --- topology ---------------------------------------------------------------------------
for ns in "$NS_C" "$NS_G" "$NS_B"; do ip netns add "$ns"; done
in_g ip link add g0 type veth peer name c0 netns "$NS_C"
in_g ip link add g1 type veth peer name b0 netns "$NS_B"
in_c ip addr add 192.0.2.1/24 dev c0
in_g ip addr add 192.0.2.2/24 dev g0
in_g ip addr add 198.51.100.1/24 dev g1
in_b ip addr add 198.51.100.2/24 dev b0
in_b ip addr add 198.51.100.3/24 dev b0
for pair in "$NS_C c0" "$NS_G g0" "$NS_G g1" "$NS_B b0"; do
  set -- $pair
  ip netns exec "$1" ip link set lo up
  ip netns exec "$1" ip link set "$2" up
done

# --- servers -----------------------------------------------------------------------------
start_backend() {
  ip netns exec "$NS_B" "$PY" "$HERE/backend.py" 198.51.100.2 8081 >"$WORK/backend.log" 2>&1 &
  BACKEND_PID=$!
  PIDS+=("$BACKEND_PID")
  wait_until 10 in_g curl -sf --max-time 1 http://198.51.100.2:8081/ok || fail "backend did not start"
}
start_backend_at() {  # $1: address, $2: name (answered in X-Backend); port 8081
  ip netns exec "$NS_B" "$PY" "$HERE/backend.py" "$1" 8081 "$2" >"$WORK/backend-$2.log" 2>&1 &
  PIDS+=("$!")
  wait_until 10 in_g curl -sf --max-time 1 "http://$1:8081/ok" || fail "backend $2 did not start"
}

mkdir -p "$WORK"/{body,proxy,fastcgi,uwsgi,scgi,load}
# /load/ is served by nginx itself, fast enough to overrun a small capture ring.
head -c 16384 /dev/zero | tr '\0' 'x' >"$WORK/load/f"
# Writes $WORK/nginx.conf: nginx in the foreground, its files in $WORK; stdin is the inside
# of the http block (logs, upstreams, servers).
write_nginx_conf() {
  {
    cat <<EOF
user root;
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
EOF
    cat
    echo "}"
  } >"$WORK/nginx.conf"
}
write_nginx_conf <<EOF
  access_log $WORK/access.log;
  upstream backend { server 198.51.100.2:8081; keepalive 32; }
  server {
    listen 192.0.2.2:8080;
    keepalive_requests 100000;
    # Every response names the request it answers, so that a pairing can be checked.
    add_header X-Echo-Uri \$request_uri always;
    location /load/ { root $WORK; }
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
    }
  }
EOF
start_nginx() {
  ip netns exec "$NS_G" nginx -c "$WORK/nginx.conf" -e "$WORK/error.log" &
  PIDS+=("$!")
  wait_until 10 in_c curl -s --max-time 1 -o /dev/null http://192.0.2.2:8080/ ||
    fail "nginx did not start"
}
# HAProxy in the foreground (-db); with `log stdout` in its config its log is haproxy.log.
start_haproxy() {
  ip netns exec "$NS_G" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>"$WORK/haproxy.err" &
  PIDS+=("$!")
  wait_until 10 in_c curl -s --max-time 1 -o /dev/null http://192.0.2.2:8080/ ||
    fail "haproxy did not start: $(cat "$WORK/haproxy.err")"
}

