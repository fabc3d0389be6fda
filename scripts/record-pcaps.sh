#!/usr/bin/env bash
# Records the replay captures in pcaps/ from real servers and real clients.
#
# Builds a private two-host test network: network namespaces oprec<pid>c (client) and
# oprec<pid>s (server) joined by one veth pair, with addresses only on that pair.
# The server namespace runs the python3 http.server origin, a python3-websockets
# server and, for the gateway scenario, nginx in front of a second origin. The client
# namespace runs curl and the python socket clients. Each scenario is captured with
# tcpdump on the client end of the veth into pcaps/NAME.pcap, and
# pcaps/NAME.expected.jsonl is written from the exchanges the scenario makes plus the
# client ports read back from the capture. Everything is removed on exit.
#
# Usage: scripts/record-pcaps.sh [--check] [SCENARIO...]     (as root, Debian 12)
#   SCENARIO   one or more capture names, as listed by --help (default: all)
#   --check    also compare each expected file with tshark's view (needs tshark)
# Needs: iproute2, tcpdump, curl, nginx-light, python3, python3-websockets, openssl;
# the h2c-* and grpc-* scenarios also tshark, nghttp2-client, nghttp2-server,
# nghttp2-proxy and python3-grpcio (scripts/install-deps.sh --regen).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(dirname "$here")/pcaps
scen=$here/pcap-scenarios
py=/usr/bin/python3
limit=120 # seconds any helper process may live, even if this script is killed

all_scenarios=(
  keepalive-get post-body chunked-response status-404-500 head-request ipv6-get
  reset-connection nginx-502
  pipelined expect-100-continue early-hints-103 status-204-304 connect-tunnel
  websocket-upgrade chunked-trailers close-delimited http10-no-keepalive
  repeated-headers-obsfold long-headers parse-error gzip-response
  close-no-response capture-ended tcp-fastopen
  ambiguous-length http-minor-version invalid-status broken-after-status not-http-mixed
  keepalive-high-port
  h2c-prior-knowledge-nghttpd h2c-nginx h2c-h2load h2c-upgrade h2c-goaway
  grpc-unary grpc-server-streaming grpc-not-found grpc-deadline grpc-stopped-server
)

check=0
wanted=()
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      echo "Scenarios: ${all_scenarios[*]}"
      exit 0 ;;
    *)
      if [[ " ${all_scenarios[*]} " != *" $arg "* ]]; then
        echo "record-pcaps: unknown scenario '$arg' (known: ${all_scenarios[*]})" >&2
        exit 2
      fi
      wanted+=("$arg") ;;
  esac
done
((${#wanted[@]})) || wanted=("${all_scenarios[@]}")

if [[ $(id -u) -ne 0 ]]; then
  echo "record-pcaps: needs root (network namespaces, tcpdump)" >&2
  exit 1
fi
tools=(ip tcpdump curl nginx timeout ss)
if [[ " ${wanted[*]} " == *" h2c-"* || " ${wanted[*]} " == *" grpc-"* ]]; then
  tools+=(tshark nghttp nghttpd nghttpx h2load) # and python3-grpcio: install-deps.sh --regen
fi
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "record-pcaps: $tool not found (run scripts/install-deps.sh)" >&2; exit 1; }
done
if ((check)) && ! command -v tshark >/dev/null; then
  echo "record-pcaps: --check needs tshark (scripts/install-deps.sh --bench)" >&2
  exit 1
fi

tag=oprec$$
ns_c=${tag}c ns_s=${tag}s    # network namespaces
if_c=${tag}a if_s=${tag}b    # the veth pair: client end, server end
cli4=10.231.0.1 srv4=10.231.0.2
cli6=fd00:231::1 srv6=fd00:231::2
origin=http://$srv4:8080
copts=(-sS --max-time 10)    # every curl URL group repeats these after --next
work=$(mktemp -d /tmp/oprec.XXXXXX)
pids=()

log() { echo "record-pcaps: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns_c" 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  rm -rf "$work"
  ((rc == 0)) || log "failed (exit $rc); pcaps/ keeps the captures recorded so far"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Namespaces left behind by an earlier run that was killed (its pid is gone).
for ns in $(ip netns list | awk '{print $1}' | grep -E '^oprec[0-9]+[cs]$' || true); do
  owner=${ns#oprec}
  owner=${owner%?}
  kill -0 "$owner" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done

# --- processes --------------------------------------------------------------

# bg NS LOG CMD...: starts CMD in NS under `timeout $limit`; its pid is in $bg_pid.
# `ip netns exec` execs, so the pid is timeout's, which passes signals on to CMD.
bg() {
  local ns=$1 logfile=$2
  shift 2
  ip netns exec "$ns" timeout "$limit" "$@" >"$logfile" 2>&1 &
  bg_pid=$!
  pids+=("$bg_pid")
}

# stop PID [SIGNAL]: signals one process started by bg and waits for it.
stop() {
  local pid=$1 keep=() p
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# reap PID: waits for one process started by bg to end by itself; fails if it failed.
reap() {
  local pid=$1 rc=0 keep=() p
  wait "$pid" || rc=$?
  for p in "${pids[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
  return "$rc"
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds or time runs out.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out waiting for: $*"
    sleep 0.05
  done
}

listening() { ip netns exec "$ns_s" ss -Hltn "sport = :$1" | grep -q .; }
not_listening() { ! listening "$1"; }

cli() { ip netns exec "$ns_c" "$@"; }
ccurl() { cli curl "${copts[@]}" "$@" >/dev/null; }
pyclient() {
  cli timeout 20 "$py" "$scen/clients.py" "$@" >"$work/client.log" 2>&1 ||
    die "client '$1' failed: $(tail -n 5 "$work/client.log")"
}

# --- network ------------------------------------------------------------------

net_up() {
  ip netns add "$ns_c"
  ip netns add "$ns_s"
  ip link add "$if_c" netns "$ns_c" type veth peer name "$if_s" netns "$ns_s"
  local ns ifname addr4 addr6
  for ns in "$ns_c" "$ns_s"; do
    if [[ $ns == "$ns_c" ]]; then ifname=$if_c addr4=$cli4 addr6=$cli6; else ifname=$if_s addr4=$srv4 addr6=$srv6; fi
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr4/24" dev "$ifname"
    ip -n "$ns" -6 addr add "$addr6/64" dev "$ifname" nodad
    # One TCP segment per packet, as on a wire: no GSO super-packets.
    ip -n "$ns" link set "$ifname" gso_max_segs 1
    ip -n "$ns" link set "$ifname" up
    # Checksums computed by the stack, so the capture holds valid ones.
    ip netns exec "$ns" "$py" "$scen/txcsum-off.py" "$ifname"
  done
}

# --- capture ------------------------------------------------------------------

# In immediate mode every ring slot holds a whole snapshot length: a 65535-byte
# snapshot (more than any frame here) and a 32 MiB buffer leave room for ~500 frames,
# so a burst such as long-headers' 50 KB request is not dropped.
cap_start() {
  cap_name=$1
  cap_file=$work/$1.pcap
  bg "$ns_c" "$work/$1.tcpdump.log" \
    tcpdump -i "$if_c" -n -s 65535 -B 32768 -U --immediate-mode -Z root -w "$cap_file" tcp
  cap_pid=$bg_pid
  wait_for 5 grep -qs 'listening on' "$work/$1.tcpdump.log"
}

# finish SERVER_PORT < SPEC: stops the capture, writes the expected file, installs both.
finish() {
  sleep 0.3 # the last ACKs of the close
  stop "$cap_pid" INT
  grep -q '^0 packets dropped by kernel' "$work/$cap_name.tcpdump.log" ||
    die "$cap_name: tcpdump lost packets: $(tail -n 3 "$work/$cap_name.tcpdump.log" | tr '\n' ' ')"
  local expected=$work/$cap_name.expected.jsonl
  "$py" "$scen/expected.py" "$cap_file" "$1" >"$expected"
  mv "$cap_file" "$out/$cap_name.pcap"
  mv "$expected" "$out/$cap_name.expected.jsonl"
  log "$cap_name: $(wc -l <"$out/$cap_name.expected.jsonl") exchange(s), $(stat -c %s "$out/$cap_name.pcap") bytes"
  if ((check)); then
    "$py" "$scen/expected.py" --check "$out/$cap_name.pcap" "$1" "$out/$cap_name.expected.jsonl" >&2
  fi
}

# finish_h2 SERVER_PORT < SPEC: as finish, for HTTP/2 captures. h2streams.py checks
# tshark's HTTP/2 dissector against the scenario's streams and writes its listing to
# pcaps/NAME.h2streams.txt, the oracle the expected file is later checked against.
finish_h2() {
  sleep 0.3
  stop "$cap_pid" INT
  grep -q '^0 packets dropped by kernel' "$work/$cap_name.tcpdump.log" ||
    die "$cap_name: tcpdump lost packets: $(tail -n 3 "$work/$cap_name.tcpdump.log" | tr '\n' ' ')"
  mv "$cap_file" "$out/$cap_name.pcap"
  "$py" "$scen/h2streams.py" "$out/$cap_name.pcap" "$1" >"$work/$cap_name.h2streams.txt" ||
    die "$cap_name: tshark's HTTP/2 view differs from the scenario"
  mv "$work/$cap_name.h2streams.txt" "$out/$cap_name.h2streams.txt"
  log "$cap_name: $(grep -c '^stream' "$out/$cap_name.h2streams.txt") stream(s), $(stat -c %s "$out/$cap_name.pcap") bytes"
}

# --- scenarios ----------------------------------------------------------------
# Each writes its spec (CONN METHOD URI STATUS OUTCOME, see expected.py) from what it
# sends and what the server is told to answer.

rec_keepalive_get() {
  cap_start keepalive-get
  ccurl "$origin/index.html" "$origin/style.css" "$origin/api/items?page=2"
  finish 8080 <<EOF
0 GET /index.html 200 complete
0 GET /style.css 200 complete
0 GET /api/items?page=2 200 complete
EOF
}

rec_post_body() {
  local json='{"customer":{"id":"c-2291","email":"ada@example.test"},"items":[{"sku":"LMP-01","qty":2,"price":19.90},{"sku":"DSK-07","qty":1,"price":149.00},{"sku":"CHR-03","qty":4,"price":59.50}],"shipping":{"method":"standard","address":"12 Analytical Row, Cambridge"},"note":"please leave the parcel at the front desk"}'
  cap_start post-body
  ccurl -H 'Content-Type: application/json' --data-binary "$json" "$origin/api/orders" \
    --next "${copts[@]}" --data 'user=ada&password=difference-engine&remember=1' "$origin/login"
  finish 8080 <<EOF
0 POST /api/orders 201 complete
0 POST /login 200 complete
EOF
}

rec_chunked_response() {
  cap_start chunked-response
  ccurl "$origin/api/export" "$origin/index.html"
  finish 8080 <<EOF
0 GET /api/export 200 complete
0 GET /index.html 200 complete
EOF
}

rec_status_404_500() {
  cap_start status-404-500
  ccurl "$origin/missing.html" "$origin/api/fail"
  finish 8080 <<EOF
0 GET /missing.html 404 complete
0 GET /api/fail 500 complete
EOF
}

rec_head_request() {
  cap_start head-request
  ccurl --head "$origin/index.html" --next "${copts[@]}" "$origin/index.html"
  finish 8080 <<EOF
0 HEAD /index.html 200 complete
0 GET /index.html 200 complete
EOF
}

rec_ipv6_get() {
  cap_start ipv6-get
  ccurl -g "http://[$srv6]:8080/index.html" "http://[$srv6]:8080/api/items?page=1"
  finish 8080 <<EOF
0 GET /index.html 200 complete
0 GET /api/items?page=1 200 complete
EOF
}

rec_reset_connection() {
  cap_start reset-connection
  local rc=0
  ccurl "$origin/index.html" "$origin/reset" 2>/dev/null || rc=$?
  ((rc == 56)) || die "reset-connection: curl exit $rc, want 56 (connection reset)"
  finish 8080 <<EOF
0 GET /index.html 200 complete
0 GET /reset - connection_reset
1 GET /reset - connection_reset
EOF
}

rec_nginx_502() {
  mkdir -p "$work/nginx"
  chmod 755 "$work"
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream backend { server 127.0.0.1:8081; keepalive 4; }
  server {
    listen $srv4:80;
    server_name gateway.test;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  bg "$ns_s" "$work/backend.log" "$py" "$scen/origin.py" --bind 127.0.0.1 --port 8081
  local backend=$bg_pid
  bg "$ns_s" "$work/nginx/stderr.log" nginx -e "$work/nginx/error.log" -p "$work/nginx" \
    -c "$work/nginx/nginx.conf" -g 'daemon off;'
  local gateway=$bg_pid
  wait_for 5 listening 8081
  wait_for 5 listening 80
  cap_start nginx-502
  ccurl "http://$srv4/api/items?page=1"
  stop "$backend"
  wait_for 5 not_listening 8081
  ccurl "http://$srv4/api/orders/42"
  finish 80 <<EOF
0 GET /api/items?page=1 200 complete
1 GET /api/orders/42 502 complete
EOF
  stop "$gateway"
}

rec_pipelined() {
  cap_start pipelined
  pyclient pipelined "$srv4" 8080
  finish 8080 <<EOF
0 GET /index.html 200 complete
0 GET /style.css 200 complete
0 GET /api/items?page=3 200 complete
EOF
}

rec_expect_100_continue() {
  printf 'line %04d: offpath upload payload\n' $(seq 1 64) >"$work/upload.txt" # 2 KB
  cap_start expect-100-continue
  ccurl -H 'Expect: 100-continue' -H 'Content-Type: text/plain' \
    --data-binary "@$work/upload.txt" "$origin/upload"
  finish 8080 <<EOF
0 POST /upload 200 complete
EOF
}

rec_early_hints_103() {
  cap_start early-hints-103
  ccurl "$origin/early-hints"
  finish 8080 <<EOF
0 GET /early-hints 200 complete
EOF
}

rec_status_204_304() {
  cap_start status-204-304
  ccurl "$origin/api/heartbeat" "$origin/logo.svg" \
    --next "${copts[@]}" -H 'If-None-Match: "5d41402abc4b2a76"' "$origin/logo.svg"
  finish 8080 <<EOF
0 GET /api/heartbeat 204 complete
0 GET /logo.svg 200 complete
0 GET /logo.svg 304 complete
EOF
}

rec_connect_tunnel() {
  cap_start connect-tunnel
  pyclient tunnel "$srv4" 8080
  finish 8080 <<EOF
0 CONNECT 127.0.0.1:9000 200 complete
EOF
}

rec_websocket_upgrade() {
  cap_start websocket-upgrade
  pyclient websocket "$srv4" 8090
  finish 8090 <<EOF
0 GET /chat 101 complete
EOF
}

rec_chunked_trailers() {
  cap_start chunked-trailers
  ccurl "$origin/report"
  finish 8080 <<EOF
0 GET /report 200 complete
EOF
}

rec_close_delimited() {
  cap_start close-delimited
  ccurl "$origin/stream"
  finish 8080 <<EOF
0 GET /stream 200 complete
EOF
}

rec_http10_no_keepalive() {
  cap_start http10-no-keepalive
  ccurl --http1.0 "$origin/index.html" "$origin/style.css"
  finish 8080 <<EOF
0 GET /index.html 200 complete
1 GET /style.css 200 complete
EOF
}

rec_repeated_headers_obsfold() {
  cap_start repeated-headers-obsfold
  ccurl -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-For: 198.51.100.23' \
    --data 'user=ada&remember=1' "$origin/login"
  pyclient obsfold "$srv4" 8080
  finish 8080 <<EOF
0 POST /login 200 complete
1 GET /folded 200 complete
EOF
}

rec_long_headers() {
  local pad query trace
  printf -v pad '%*s' 2500 ''
  query=${pad// /offpath-} # 20000 bytes
  printf -v pad '%*s' 3000 ''
  trace=${pad// /0123456789} # 30000 bytes
  cap_start long-headers
  ccurl -H "X-Trace-Context: $trace" "$origin/search/results?q=$query"
  finish 8080 <<EOF
0 GET /search/results?q=$query 200 complete
EOF
}

rec_parse_error() {
  cap_start parse-error
  pyclient garbage "$srv4" 8080
  ccurl "$origin/index.html"
  finish 8080 <<EOF
0 - - - none
1 GET /index.html 200 complete
EOF
}

rec_gzip_response() {
  cap_start gzip-response
  ccurl --compressed "$origin/text/gzip" "$origin/text/deflate"
  finish 8080 <<EOF
0 GET /text/gzip 200 complete
0 GET /text/deflate 200 complete
EOF
}

rec_close_no_response() {
  cap_start close-no-response
  local rc=0
  ccurl "$origin/hangup" 2>/dev/null || rc=$?
  ((rc == 52)) || die "close-no-response: curl exit $rc, want 52 (empty reply)"
  finish 8080 <<EOF
0 GET /hangup - connection_closed
EOF
}

rec_capture_ended() {
  cap_start capture-ended
  # The origin answers /slow after 1 s; the capture stops while the request waits.
  bg "$ns_c" "$work/slow.log" curl "${copts[@]}" -o /dev/null "$origin/slow"
  local slow=$bg_pid
  sleep 0.3
  finish 8080 <<EOF
0 GET /slow - capture_ended
EOF
  reap "$slow"
}

# Responses that break the rules in one way each (origin.py's /faulty/ routes).
rec_ambiguous_length() {
  cap_start ambiguous-length
  pyclient te-cl "$srv4" 8080
  finish 8080 <<EOF
0 GET /faulty/te-cl 200 complete ambiguous_length
0 GET /index.html 200 complete
EOF
}

rec_http_minor_version() {
  cap_start http-minor-version
  pyclient http12 "$srv4" 8080
  finish 8080 <<EOF
0 GET /faulty/http12 200 complete
0 GET /index.html 200 complete
EOF
}

rec_invalid_status() {
  cap_start invalid-status
  pyclient bad-status "$srv4" 8080
  finish 8080 <<EOF
0 GET /faulty/bad-status - parse_error
EOF
}

rec_broken_after_status() {
  cap_start broken-after-status
  pyclient broken-404 "$srv4" 8080
  finish 8080 <<EOF
0 GET /faulty/broken-404 404 parse_error
EOF
}

# HTTP connections among TLS (openssl s_server, curl https), SSH, SMTP and PostgreSQL
# openings (foreign.py): only the HTTP ones make records.
rec_not_http_mixed() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=offpath.test \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  bg "$ns_s" "$work/tls.log" openssl s_server -accept "$srv4:8443" -cert "$work/tls.crt" \
    -key "$work/tls.key" -www -quiet
  local tls=$bg_pid
  bg "$ns_s" "$work/foreign.log" "$py" "$scen/foreign.py" server "$srv4"
  local foreign=$bg_pid
  wait_for 5 listening 8443
  wait_for 5 listening 2222
  wait_for 5 listening 2525
  wait_for 5 listening 5432
  cap_start not-http-mixed
  ccurl "$origin/index.html"
  ccurl -k "https://$srv4:8443/"
  local proto
  for proto in ssh smtp pg; do
    cli timeout 20 "$py" "$scen/foreign.py" "$proto" "$srv4" >"$work/client.log" 2>&1 ||
      die "foreign client '$proto' failed: $(tail -n 5 "$work/client.log")"
  done
  ccurl "$origin/style.css"
  finish 8080 <<EOF
0 GET /index.html 200 complete
1 GET /style.css 200 complete
EOF
  stop "$foreign"
  stop "$tls"
}

# keepalive-get against an origin on port 62080, above every ephemeral port: the
# source of mid-stream-roles (scripts/make-reassembly-pcaps.sh), where the port guess
# for the client is wrong.
rec_keepalive_high_port() {
  bg "$ns_s" "$work/origin-high.log" "$py" "$scen/origin.py" --bind "$srv4" --port 62080
  local high=$bg_pid
  wait_for 5 listening 62080
  cap_start keepalive-high-port
  ccurl "http://$srv4:62080/index.html" "http://$srv4:62080/style.css" \
    "http://$srv4:62080/api/items?page=2"
  finish 62080 <<EOF
0 GET /index.html 200 complete
0 GET /style.css 200 complete
0 GET /api/items?page=2 200 complete
EOF
  stop "$high"
}

rec_tcp_fastopen() {
  # TCP Fast Open: curl sends each GET in its SYN (curl opens one connection per URL with --tcp-fastopen), the server's SYN-ACK acknowledges it.
  # The sysctls hold for these namespaces only: client enabled without a cookie (1|4),
  # server enabled without a cookie on every listener without setsockopt (2|0x200|0x400),
  # set before a second origin listens, so the other scenarios' origin is unchanged.
  cli sysctl -qw net.ipv4.tcp_fastopen=5
  ip netns exec "$ns_s" sysctl -qw net.ipv4.tcp_fastopen=1538
  bg "$ns_s" "$work/origin-tfo.log" "$py" "$scen/origin.py" --bind :: --port 8082
  local tfo_origin=$bg_pid
  wait_for 5 listening 8082
  cap_start tcp-fastopen
  ccurl --tcp-fastopen "http://$srv4:8082/index.html" "http://$srv4:8082/style.css"
  finish 8082 <<EOF
0 GET /index.html 200 complete
1 GET /style.css 200 complete
EOF
  stop "$tfo_origin"
  local syn_len
  syn_len=$(tcpdump -nr "$out/tcp-fastopen.pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null | grep -o 'length [0-9]*' | head -n 1)
  [[ -n $syn_len && $syn_len != "length 0" ]] || die "tcp-fastopen: the SYN carries no data"
}

# --- HTTP/2 scenarios -----------------------------------------------------------
# Spec lines for finish_h2: CONN STREAM METHOD PATH STATUS GRPC_STATUS END, where END is
# "end" (the response ends the stream), "rst:CODE" (RST_STREAM) or "open" (neither).
# nghttp opens streams 3..11 with PRIORITY frames only (its dependency tree), so its
# requests are streams 13, 15, ...

h2_root() {
  mkdir -p "$work/h2root/api"
  chmod 755 "$work" "$work/h2root" "$work/h2root/api"
  echo '<html><body>offpath h2c test page</body></html>' >"$work/h2root/index.html"
  echo 'body { font-family: serif; }' >"$work/h2root/style.css"
  echo '{"items":[1,2,3]}' >"$work/h2root/api/items.json"
  chmod 644 "$work/h2root/index.html" "$work/h2root/style.css" "$work/h2root/api/items.json"
}

nghttpd_start() {
  h2_root
  bg "$ns_s" "$work/nghttpd.log" nghttpd --no-tls -d "$work/h2root" --address="$srv4" 8200
  nghttpd_pid=$bg_pid
  wait_for 5 listening 8200
}

rec_h2c_prior_knowledge_nghttpd() {
  nghttpd_start
  cap_start h2c-prior-knowledge-nghttpd
  cli nghttp -n "http://$srv4:8200/index.html" "http://$srv4:8200/style.css" \
    "http://$srv4:8200/missing.html" >/dev/null
  # One URL per curl: curl 7.88 fails (error 16) reusing an h2c connection to nghttpd.
  ccurl --http2-prior-knowledge "http://$srv4:8200/api/items.json"
  ccurl --http2-prior-knowledge "http://$srv4:8200/index.html"
  finish_h2 8200 <<EOF
0 13 GET /index.html 200 - end
0 15 GET /style.css 200 - end
0 17 GET /missing.html 404 - end
1 1 GET /api/items.json 200 - end
2 1 GET /index.html 200 - end
EOF
  stop "$nghttpd_pid"
}

# nghttpd answers an HTTP/1.1 request with HTTP/2 frames; nghttpx's cleartext frontend
# takes the Upgrade: h2c (101 Switching Protocols) and passes the stream to nghttpd.
rec_h2c_upgrade() {
  nghttpd_start
  bg "$ns_s" "$work/nghttpx.log" nghttpx --conf=/dev/null --single-process --no-ocsp \
    --frontend="$srv4,8220;no-tls" --backend="$srv4,8200;;proto=h2" --pid-file="$work/nghttpx.pid"
  local nghttpx=$bg_pid
  wait_for 5 listening 8220
  cap_start h2c-upgrade
  ccurl --http2 "http://$srv4:8220/index.html"
  finish_h2 8220 <<EOF
0 1 GET /index.html 200 - end
EOF
  stop "$nghttpx"
  stop "$nghttpd_pid"
}

rec_h2c_h2load() {
  nghttpd_start
  cap_start h2c-h2load
  cli h2load -n 200 -c 2 -m 20 "http://$srv4:8200/index.html" >"$work/h2load.log" ||
    die "h2load failed: $(tail -n 5 "$work/h2load.log")"
  grep -q '200 succeeded' "$work/h2load.log" || die "h2load: $(grep requests: "$work/h2load.log")"
  local c s
  for c in 0 1; do
    for ((s = 1; s < 200; s += 2)); do echo "$c $s GET /index.html 200 - end"; done
  done | finish_h2 8200
  stop "$nghttpd_pid"
}

# nginx_h2_start PORT [DIRECTIVE]: nginx with an h2c listener on PORT serving h2_root,
# DIRECTIVE added to its http block; the pid is in $nginx_h2_pid.
nginx_h2_start() {
  h2_root
  mkdir -p "$work/nginx-h2"
  cat >"$work/nginx-h2/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx-h2/nginx.pid;
error_log $work/nginx-h2/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx-h2/body;
  ${2:-}
  server {
    listen $srv4:$1 http2;
    server_name h2c.test;
    root $work/h2root;
  }
}
EOF
  bg "$ns_s" "$work/nginx-h2.log" nginx -g 'daemon off;' -c "$work/nginx-h2/nginx.conf"
  nginx_h2_pid=$bg_pid
  wait_for 5 listening "$1"
}

rec_h2c_nginx() {
  nginx_h2_start 8210
  cap_start h2c-nginx
  cli nghttp -n "http://$srv4:8210/index.html" "http://$srv4:8210/api/items.json" >/dev/null
  ccurl --http2-prior-knowledge "http://$srv4:8210/style.css"
  ccurl --http2-prior-knowledge "http://$srv4:8210/missing.html"
  finish_h2 8210 <<EOF
0 13 GET /index.html 200 - end
0 15 GET /api/items.json 200 - end
1 1 GET /style.css 200 - end
2 1 GET /missing.html 404 - end
EOF
  stop "$nginx_h2_pid"
}

# nginx ends a connection after 2 requests (keepalive_requests 2): nghttp sends four at
# once, nginx answers streams 13 and 15 and sends GOAWAY with last stream id 15; streams
# 17 and 19 are never answered (nghttp: "Some requests were not processed").
rec_h2c_goaway() {
  nginx_h2_start 8211 'keepalive_requests 2;'
  cap_start h2c-goaway
  cli nghttp -n "http://$srv4:8211/index.html" "http://$srv4:8211/style.css" \
    "http://$srv4:8211/api/items.json" "http://$srv4:8211/missing.html" >"$work/nghttp.log" 2>&1
  grep -q 'total=4, processed=2' "$work/nghttp.log" || die "h2c-goaway: $(cat "$work/nghttp.log")"
  finish_h2 8211 <<EOF
0 13 GET /index.html 200 - end
0 15 GET /style.css 200 - end
0 17 GET /api/items.json - - open
0 19 GET /missing.html - - open
EOF
  stop "$nginx_h2_pid"
}

grpc_call() {
  cli timeout 20 "$py" "$scen/grpcpeer.py" call --target "$srv4:50051" "$1" >"$work/client.log" 2>&1 ||
    die "grpc call '$1' failed: $(tail -n 5 "$work/client.log")"
}

# grpc_scenario NAME CALL < SPEC: one call from a fresh channel to the gRPC server.
grpc_scenario() {
  bg "$ns_s" "$work/grpc.log" "$py" "$scen/grpcpeer.py" serve --bind "$srv4" --port 50051
  local srv=$bg_pid
  wait_for 10 listening 50051
  cap_start "$1"
  grpc_call "$2"
  finish_h2 50051
  stop "$srv"
}

rec_grpc_unary() {
  grpc_scenario grpc-unary unary <<EOF
0 1 POST /offpath.test.Catalog/GetItem 200 0 end
EOF
}

rec_grpc_server_streaming() {
  grpc_scenario grpc-server-streaming server-streaming <<EOF
0 1 POST /offpath.test.Catalog/ListItems 200 0 end
EOF
}

rec_grpc_not_found() {
  grpc_scenario grpc-not-found not-found <<EOF
0 1 POST /offpath.test.Catalog/GetItem 200 5 end
EOF
}

# The client gives up after 0.3 s and cancels the stream (RST_STREAM CANCEL); the server,
# told the deadline by grpc-timeout, answers at once with trailers only (grpc-status 4,
# DEADLINE_EXCEEDED) and its own RST_STREAM NO_ERROR.
rec_grpc_deadline() {
  grpc_scenario grpc-deadline deadline <<EOF
0 1 POST /offpath.test.Catalog/Slow 200 4 rst:CANCEL
EOF
}

# No server listens: every connection attempt is refused, no HTTP/2 byte is sent.
rec_grpc_stopped_server() {
  cap_start grpc-stopped-server
  grpc_call stopped-server
  finish_h2 50051 </dev/null
}

# --- main ---------------------------------------------------------------------

mkdir -p "$out"
net_up
bg "$ns_s" "$work/origin.log" "$py" "$scen/origin.py" --bind :: --port 8080 --tunnel-port 9000
wait_for 5 listening 8080
wait_for 5 listening 9000
if [[ " ${wanted[*]} " == *" websocket-upgrade "* ]]; then
  if "$py" -c 'import websockets' 2>/dev/null; then
    bg "$ns_s" "$work/wsserver.log" "$py" "$scen/wsserver.py" --bind "$srv4" --port 8090
    wait_for 5 listening 8090
  else
    log "websocket-upgrade: skipped, python3-websockets is not installed"
    wanted=("${wanted[@]/websocket-upgrade/}")
  fi
fi

for name in "${wanted[@]}"; do
  [[ -n $name ]] && "rec_${name//-/_}"
done
log "done: ${#wanted[@]} capture(s) in $out"
