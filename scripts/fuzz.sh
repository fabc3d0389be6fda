#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan + UBSan, every library instrumented for
# coverage) and runs it for a bounded time.
#   scripts/fuzz.sh [SECONDS]        default 60
# Environment: OFFPATH_FUZZ_BUILD (build dir, default ../build-fuzz next to the repo),
# FUZZ_JOBS (ninja jobs, default 2).
# New interesting inputs go to a scratch corpus, never into the repository; a crash
# leaves its input in $OFFPATH_FUZZ_BUILD/artifacts/: copy it into tests/fuzz/corpus/ so
# that the fuzz_replay test (ctest -L fuzz) keeps it as a regression.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${OFFPATH_FUZZ_BUILD:-$(dirname "$root")/build-fuzz}
seconds=${1:-60}
jobs=${FUZZ_JOBS:-2}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DOFFPATH_FUZZ=ON \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
ninja -C "$build" -j"$jobs" fuzz_pipeline

artifacts="$build/artifacts"
scratch="$build/corpus"
mkdir -p "$artifacts" "$scratch"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
status=0
"$build/tests/fuzz/fuzz_pipeline" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$scratch" "$root/tests/fuzz/corpus" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: the fuzzer stopped with status $status; inputs in $artifacts:" >&2
  ls -l "$artifacts" >&2
fi
exit "$status"
