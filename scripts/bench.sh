#!/usr/bin/env bash
# Throughput benchmark: offpath against its peers on one synthetic capture.
#
# Generates a reproducible HTTP capture (tests/tools/gen_capture.cpp, default 1 GB), then
# times, on that same file and in the same run, each from a warm page cache, median of
# --runs runs:
#   offpath --workers 1 (inline) and --workers N (all cores), --publish all to /dev/null
#   tcpdump -r FILE -w /dev/null             (the floor: libpcap reading the file)
#   httpry  -r FILE -o /dev/null             (an HTTP request logger)
#   tshark  -r SLICE -Y http -T fields ...   (one pass; on a smaller slice, see --tshark-mb,
#                                             because it is ~100x slower; offpath is timed on
#                                             the same slice for the ratio)
# and prints MB/s, packets/s, exchanges/s, peak RSS and CPU use; then the Kafka publish
# throughput (scripts/bench-kafka.sh) and live capture drop rates per backend
# (scripts/bench-live-drops.sh). Not part of the test suite.
#
# Usage: scripts/bench.sh [--size-mb 1024] [--tshark-mb 64] [--runs 3] [--workers N]
#                         [--seed 1] [--build DIR] [--dir DIR] [--keep]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=1024
TSHARK_MB=64
RUNS=3
WORKERS=$(nproc)
SEED=1
BUILD="$ROOT/build-bench"
DIR=${TMPDIR:-/var/tmp}/offpath-bench
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --tshark-mb) TSHARK_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $WORKERS -ge 2 ]] || WORKERS=2  # "all workers" means threads; 1 is the inline path

missing=()
for tool in tshark httpry tcpdump; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bench.sh: installing ${missing[*]}" >&2
  "$ROOT/scripts/install-deps.sh" --bench
fi
export PATH=$PATH:/usr/sbin

if [[ ! -x $BUILD/offpath || ! -x $BUILD/tests/tools/offpath_gen_capture ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! ninja -C "$BUILD" offpath offpath_gen_capture >"$BUILD/bench-build.log" 2>&1; then
  echo "bench.sh: build failed, see $BUILD/bench-build.log" >&2
  exit 1
fi
OFFPATH=$BUILD/offpath
GEN=$BUILD/tests/tools/offpath_gen_capture

mkdir -p "$DIR"
FILE=$DIR/bench-$SIZE_MB-$SEED.pcap
SLICE=$DIR/bench-$TSHARK_MB-$SEED.pcap
GEN_FLAGS=(--seed "$SEED" --connections 2000 --chunked 0.2 --errors 0.1)
[[ -s $FILE ]] || "$GEN" -o "$FILE" --size-mb "$SIZE_MB" "${GEN_FLAGS[@]}"
[[ -s $SLICE ]] || "$GEN" -o "$SLICE" --size-mb "$TSHARK_MB" "${GEN_FLAGS[@]}"
cleanup() { [[ $KEEP == 1 ]] || rm -f "$FILE" "$SLICE"; }
trap cleanup EXIT

# measure NAME INPUT CMD...: median wall time of $RUNS runs from a warm page cache, with
# the CPU time and peak RSS of that run; offpath's summary gives packets and exchanges.
RESULTS=$DIR/results.tsv
: > "$RESULTS"
measure() {
  local name=$1 input=$2; shift 2
  /usr/bin/python3 - "$name" "$input" "$RUNS" "$RESULTS" "$@" <<'PY'
import os, re, subprocess, sys
name, path, runs, results, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
samples = []
for _ in range(runs):
    with open(path, "rb") as f:                       # into the page cache
        while f.read(1 << 20):
            pass
    timing = results + ".time"
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"{name}: exit {p.returncode}: {p.stderr.decode()[-400:]}")
    wall, user, sys_, rss_kb = open(timing).read().split()[-4:]
    samples.append((float(wall), float(user) + float(sys_), int(rss_kb), p.stderr.decode()))
samples.sort(key=lambda s: s[0])
wall, cpu, _, err = samples[len(samples) // 2]
maxrss = max(s[2] for s in samples)
m = re.search(r"packets=(\d+)", err); packets = int(m.group(1)) if m else 0
m = re.search(r"exchanges=(\d+)", err); exchanges = int(m.group(1)) if m else 0
with open(results, "a") as out:
    out.write(f"{name}\t{os.path.getsize(path)}\t{wall:.4f}\t{cpu:.4f}\t{maxrss}\t{packets}\t{exchanges}\n")
PY
}

echo "bench: $FILE ($(du -m "$FILE" | cut -f1) MB), slice $SLICE; median of $RUNS runs" >&2
OFF_ARGS=(--publish all -o /dev/null)
measure "offpath --workers 1" "$FILE" "$OFFPATH" -r "$FILE" --workers 1 "${OFF_ARGS[@]}"
measure "offpath --workers $WORKERS" "$FILE" "$OFFPATH" -r "$FILE" --workers "$WORKERS" "${OFF_ARGS[@]}"
measure "tcpdump -r -w /dev/null" "$FILE" tcpdump -r "$FILE" -w /dev/null
measure "httpry -r -o /dev/null" "$FILE" httpry -r "$FILE" -o /dev/null
measure "offpath --workers 1 (slice)" "$SLICE" "$OFFPATH" -r "$SLICE" --workers 1 "${OFF_ARGS[@]}"
measure "tshark -Y http (slice)" "$SLICE" tshark -r "$SLICE" -Y http -T fields \
  -e frame.time_epoch -e ip.src -e tcp.srcport -e http.request.method -e http.request.uri \
  -e http.response.code

/usr/bin/python3 - "$RESULTS" "$(nproc)" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
cores = int(sys.argv[2])
r = {n: dict(size=int(s), wall=float(w), cpu=float(c), rss=int(m), pk=int(p), ex=int(e))
     for n, s, w, c, m, p, e in rows}
base = r["offpath --workers 1"]
slice_base = r["offpath --workers 1 (slice)"]
print(f"{'tool':32} {'MB/s':>9} {'Mpkt/s':>8} {'kexch/s':>9} {'peak RSS MB':>12} {'CPU/wall':>9} {'offpath w1 is':>14}")
for name, v in r.items():
    mbs = v["size"] / 1e6 / v["wall"]
    ref = slice_base if "(slice)" in name else base
    pk = (v["pk"] or ref["pk"]) / v["wall"] / 1e6
    ex = v["ex"] / v["wall"] / 1e3 if v["ex"] else float("nan")
    ratio = v["wall"] / ref["wall"]
    print(f"{name:32} {mbs:9.1f} {pk:8.2f} {ex:9.1f} {v['rss']/1024:12.1f} {v['cpu']/v['wall']:9.2f} {ratio:13.2f}x")
multi = [n for n in r if n.startswith("offpath --workers") and n != "offpath --workers 1" and "slice" not in n][0]
m = r[multi]
print(f"\n{multi}: speed-up {base['wall']/m['wall']:.2f}x over --workers 1 on {cores} cores; "
      f"CPU time / wall = {m['cpu']/m['wall']:.2f} (second core put to use: {max(0.0, m['cpu']/m['wall'] - 1):.0%})")
print("packets/s for tools without a summary use offpath's packet count of the same file; "
      "the last column is each tool's time over offpath --workers 1 on the same input.")
PY

# Kafka publish throughput into librdkafka's mock cluster, beside librdkafka's own ceiling.
echo
if ! "$ROOT/scripts/bench-kafka.sh" --build "$BUILD"; then
  echo "bench.sh: the Kafka part failed (see above)" >&2
fi

# Live capture: packets each backend loses under a tcpreplay flood over veth (needs root).
echo
"$ROOT/scripts/bench-live-drops.sh" --build "$BUILD" --dir "$DIR" ||
  echo "bench.sh: the live-drops part failed (see above)" >&2
