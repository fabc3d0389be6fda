#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds offpath, and replays a
# bundled capture of real traffic, printing its failed exchanges as JSON lines.
# Usage: scripts/demo.sh [CAPTURE]   (default: pcaps/nginx-502.pcap)
set -euo pipefail
cd "$(dirname "$0")/.."
capture=${1:-pcaps/nginx-502.pcap}
bash scripts/install-deps.sh >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target offpath >&2
echo "== failed exchanges in $capture" >&2
./build/offpath -r "$capture"
