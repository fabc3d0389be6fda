#!/usr/bin/env bash
# A Kafka broker for manual tries, without Docker: librdkafka's mock cluster
# (tests/tools/mock_kafka) listening on 127.0.0.1:PORT (default 9092), with the topics
# http-exchanges and failed-requests (4 partitions each). It keeps messages in memory
# until it stops.
#
# Usage: scripts/kafka-dev.sh [--port 9092] [--brokers 1] [--build DIR]
#
# Then, in another terminal:
#   offpath -r pcaps/keepalive-get.pcap --publish all -b 127.0.0.1:9092
#   kcat -C -b 127.0.0.1:9092 -t http-exchanges -e -f '%k %h\n%s\n'
# Type commands here to inject faults: down, up, errors N [CODE], rtt MS,
# topic NAME PARTITIONS, quit (see tests/tools/mock_kafka.cpp).
# For a real Apache Kafka instead: deploy/docker-compose.kafka.yml (docs/kafka.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=9092
BROKERS=1
BUILD="$ROOT/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --brokers) BROKERS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "kafka-dev.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$BUILD" mock_kafka >/dev/null
echo "kafka-dev: mock cluster on 127.0.0.1:$PORT (commands: down, up, errors N [CODE], rtt MS, topic NAME N, quit)" >&2
exec "$BUILD/tests/tools/mock_kafka" --port "$PORT" --brokers "$BROKERS" \
  --topic http-exchanges:4 --topic failed-requests:4
