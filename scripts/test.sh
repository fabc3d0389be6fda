#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian packages), builds offpath twice
# (Release with warnings as errors, then ASan + UBSan) and runs every test with CTest,
# with a bounded libFuzzer run (clang, ASan + UBSan) in between.
# Run as root on Debian 12 (the live-capture and end-to-end tests build network
# namespaces). Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)

bash scripts/install-deps.sh

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DOFFPATH_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

echo "== Release build"
build build -DCMAKE_BUILD_TYPE=Release
echo "== Release tests"
(cd build && ctest --output-on-failure -j "$jobs" "$@")

echo "== Fuzzing: libFuzzer on decode + reassembly + HTTP + pairing, ${OFFPATH_FUZZ_SECONDS:-60} s"
# A crash fails the suite; its input is left in build-fuzz/artifacts/ to become a
# regression input in tests/fuzz/corpus/ (replayed by the fuzz_replay test).
OFFPATH_FUZZ_BUILD="$root/build-fuzz" bash scripts/fuzz.sh "${OFFPATH_FUZZ_SECONDS:-60}"

echo "== ASan + UBSan build"
build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFPATH_SANITIZE=ON
echo "== ASan + UBSan tests (unit and replay)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j "$jobs" -L 'unit|replay|fuzz' "$@")
