#!/usr/bin/env bash
# Kafka publish throughput: 1 KB records into librdkafka's mock cluster (in process, on
# 127.0.0.1), median of --runs runs, printed as messages/s and MB/s for
#   librdkafka produce loop   the ceiling: plain rd_kafka_produce with offpath's default
#                             properties (idempotent, acks=all, lz4, linger 5 ms), waiting
#                             whenever the queue is full
#   offpath sink              KafkaSink::write() from --writers threads, never waiting
#   offpath sink + spool      the same with --spool-dir: a full queue spills to disk
# all in the same run, on the same machine. Not part of the test suite.
#
# Usage: scripts/bench-kafka.sh [--messages 200000] [--size 1024] [--runs 3] [--writers 1]
#                               [--build DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build-bench"
ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --messages|--size|--runs|--writers) ARGS+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench-kafka.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD" kafka_bench >/dev/null
echo "kafka bench on $(nproc) cores, librdkafka $(pkg-config --modversion rdkafka)"
"$BUILD/tests/tools/kafka_bench" "${ARGS[@]}"
