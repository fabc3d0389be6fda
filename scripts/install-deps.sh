#!/usr/bin/env bash
# Installs every Debian package that offpath's build, tests and benchmark need.
# Idempotent: packages already present are not touched, and apt is not asked at all
# when nothing is missing. Run as root on Debian 12.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  libpcap-dev node-llhttp librdkafka-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libcli11-dev libyaml-cpp-dev zlib1g-dev
  libbpf-dev libelf-dev clang llvm bpftool libcap-dev libsystemd-dev libmicrohttpd-dev
  libclang-rt-14-dev libnghttp2-dev
)
test_pkgs=(
  tcpdump nginx-light haproxy wrk curl openssl python3 python3-kafka python3-jsonschema python3-yaml
  python3-websockets python3-lz4 python3-scapy
  iproute2 kcat procps systemd time
)
bench_pkgs=(tshark httpry tcpreplay)
# Only to regenerate the captures that scripts/make-encap-pcaps.py writes (and check
# them with tshark), and the HTTP/2 and gRPC ones scripts/record-pcaps.sh records
# (checked with tshark's HTTP/2 dissector); the committed captures need none of them.
regen_pkgs=(python3-scapy tshark nghttp2-client nghttp2-server nghttp2-proxy python3-grpcio)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${bench_pkgs[@]}"); fi
if [[ "${1:-}" == "--regen" ]]; then want+=("${regen_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
