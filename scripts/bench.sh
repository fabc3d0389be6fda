#!/usr/bin/env bash
# Throughput benchmark: offpath against its peers on one synthetic capture.
#
# Generates a reproducible HTTP capture (tests/tools/gen_capture.cpp, default 1 GB), then
# times, on that same file and in the same run, each from a warm page cache, median of
# --runs runs taken in rounds (every tool once per round, so that the shared machine's
# slow moments fall on all of them):
#   offpath --workers 1 (inline) and --workers N (all cores), --publish all to /dev/null
#   tcpdump -r FILE -w /dev/null             (libpcap reading and writing the file)
#   httpry  -r FILE -o /dev/null             (an HTTP request logger)
#   tshark  -r FILE -Y http -T fields ...    (Wireshark's HTTP dissector, one pass)
#   tshark  -r FILE -2 -R http -T fields ... (the same with two passes)
# and prints MB/s, packets/s, exchanges/s, peak RSS and CPU use, and whether offpath found
# every exchange the generator wrote; then the Kafka publish throughput
# (scripts/bench-kafka.sh) and live capture drop rates per backend
# (scripts/bench-live-drops.sh). Not part of the test suite.
#
# tshark takes minutes on a 1 GB file: it runs --tshark-runs times (default 1), and with
# --tshark-mb N on a smaller capture of the same generator instead (offpath is then timed
# on that capture too, for the ratio).
#
# --h2c also generates the same traffic as HTTP/2 with prior knowledge (gen_capture --h2c,
# same seed and --size-mb) and times offpath on it with the same command, reported beside
# the HTTP/1.x figures.
#
# Usage: scripts/bench.sh [--size-mb 1024] [--runs 3] [--tshark-runs 1] [--tshark-mb N]
#                         [--workers N] [--seed 1] [--loss F] [--reorder F]
#                         [--build DIR] [--dir DIR] [--keep] [--replay-only] [--h2c]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=1024
TSHARK_MB=0
TSHARK_RUNS=1
LOSS=0
REORDER=0
RUNS=3
WORKERS=$(nproc)
SEED=1
BUILD="$ROOT/build-bench"
DIR=${TMPDIR:-/var/tmp}/offpath-bench
KEEP=0
REPLAY_ONLY=0
H2C=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --tshark-mb) TSHARK_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --tshark-runs) TSHARK_RUNS=$2; shift 2 ;;
    --loss) LOSS=$2; shift 2 ;;
    --reorder) REORDER=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --replay-only) REPLAY_ONLY=1; shift ;;  # skip the Kafka and live-capture parts
    --h2c) H2C=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
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
GEN_FLAGS=(--seed "$SEED" --connections 2000 --chunked 0.2 --errors 0.1 --loss "$LOSS"
           --reorder "$REORDER")
# generate MB [--h2c]: the capture's path; the generator's own line (exchanges written)
# beside it.
generate() {
  local path=$DIR/bench-$1-$SEED-l$LOSS-r$REORDER${2:+-h2c}.pcap
  if [[ ! -s $path || ! -s $path.gen ]]; then
    "$GEN" -o "$path" --size-mb "$1" "${GEN_FLAGS[@]}" ${2:+"$2"} 2>"$path.gen"
  fi
  echo "$path"
}
FILE=$(generate "$SIZE_MB")
SLICE=$FILE
[[ $TSHARK_MB -gt 0 ]] && SLICE=$(generate "$TSHARK_MB")
H2FILE=""
[[ $H2C == 1 ]] && H2FILE=$(generate "$SIZE_MB" --h2c)
cleanup() {
  [[ $KEEP == 1 ]] || rm -f "$FILE" "$FILE.gen" "$SLICE" "$SLICE.gen" ${H2FILE:+"$H2FILE" "$H2FILE.gen"}
}
trap cleanup EXIT

# tool NAME INPUT RUNS CMD...: adds a command to time. measure_all then runs the tools
# in rounds (round k runs every tool that has more than k runs, in the order added), so
# that a slow minute on a shared machine falls on every tool alike rather than on
# whichever ran then; each run starts from a warm page cache. Per tool it keeps the
# median wall time, with the CPU time of that run and the highest peak RSS; offpath's
# summary gives packets and exchanges (complete ones apart).
RESULTS=$DIR/results.tsv
SPEC=$DIR/tools.spec
: > "$SPEC"
tool() {
  local name=$1 input=$2 runs=$3; shift 3
  local IFS=$'\x1f'
  printf '%s\t%s\t%s\t%s\n' "$name" "$input" "$runs" "$*" >> "$SPEC"
}
measure_all() {
  /usr/bin/python3 - "$SPEC" "$RESULTS" <<'PY'
import os, re, subprocess, sys
spec, results = sys.argv[1], sys.argv[2]
tools = []
for line in open(spec):
    name, path, runs, cmd = line.rstrip("\n").split("\t")
    tools.append(dict(name=name, path=path, runs=int(runs), cmd=cmd.split("\x1f"), samples=[]))
for k in range(max(t["runs"] for t in tools)):
    for t in tools:
        if k >= t["runs"]:
            continue
        with open(t["path"], "rb") as f:              # into the page cache
            while f.read(1 << 20):
                pass
        timing = results + ".time"
        p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", timing] + t["cmd"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode != 0:
            sys.exit(f"{t['name']}: exit {p.returncode}: {p.stderr.decode()[-400:]}")
        wall, user, sys_, rss_kb = open(timing).read().split()[-4:]
        t["samples"].append((float(wall), float(user) + float(sys_), int(rss_kb),
                             p.stderr.decode()))
        print(f"  round {k + 1}: {t['name']}: {float(wall):.2f} s", file=sys.stderr)
with open(results, "w") as out:
    for t in tools:
        samples = sorted(t["samples"], key=lambda s: s[0])
        wall, cpu, _, err = samples[len(samples) // 2]
        maxrss = max(s[2] for s in samples)
        m = re.search(r"packets=(\d+)", err); packets = int(m.group(1)) if m else 0
        m = re.search(r"exchanges=(\d+)", err); exchanges = int(m.group(1)) if m else 0
        m = re.search(r" complete=(\d+)", err); complete = int(m.group(1)) if m else 0
        out.write(f"{t['name']}\t{t['path']}\t{os.path.getsize(t['path'])}\t{wall:.4f}\t"
                  f"{cpu:.4f}\t{maxrss}\t{packets}\t{exchanges}\t{complete}\n")
PY
}

echo "bench: $FILE ($(du -m "$FILE" | cut -f1) MB); median of $RUNS runs, tshark $TSHARK_RUNS, in rounds" >&2
OFF_ARGS=(--publish all -o /dev/null)
TSHARK_FIELDS=(-T fields -e frame.time_epoch -e ip.src -e tcp.srcport -e http.request.method
               -e http.request.uri -e http.response.code)
tool "offpath --workers 1" "$FILE" "$RUNS" "$OFFPATH" -r "$FILE" --workers 1 "${OFF_ARGS[@]}"
tool "offpath --workers $WORKERS" "$FILE" "$RUNS" "$OFFPATH" -r "$FILE" --workers "$WORKERS" "${OFF_ARGS[@]}"
if [[ -n $H2FILE ]]; then
  tool "offpath --workers 1 (h2c)" "$H2FILE" "$RUNS" "$OFFPATH" -r "$H2FILE" --workers 1 "${OFF_ARGS[@]}"
  tool "offpath --workers $WORKERS (h2c)" "$H2FILE" "$RUNS" "$OFFPATH" -r "$H2FILE" --workers "$WORKERS" "${OFF_ARGS[@]}"
fi
tool "tcpdump -r -w /dev/null" "$FILE" "$RUNS" tcpdump -r "$FILE" -w /dev/null
tool "httpry -r -o /dev/null" "$FILE" "$RUNS" httpry -r "$FILE" -o /dev/null
T=""
if [[ $SLICE != "$FILE" ]]; then
  T=" (slice)"
  tool "offpath --workers 1$T" "$SLICE" "$RUNS" "$OFFPATH" -r "$SLICE" --workers 1 "${OFF_ARGS[@]}"
fi
tool "tshark -Y http, one pass$T" "$SLICE" "$TSHARK_RUNS" tshark -r "$SLICE" -Y http "${TSHARK_FIELDS[@]}"
tool "tshark -2 -R http, two passes$T" "$SLICE" "$TSHARK_RUNS" tshark -r "$SLICE" -2 -R http "${TSHARK_FIELDS[@]}"
measure_all

/usr/bin/python3 - "$RESULTS" "$(nproc)" <<'PY'
import re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
cores = int(sys.argv[2])
r = {n: dict(path=f, size=int(s), wall=float(w), cpu=float(c), rss=int(m), pk=int(p), ex=int(e),
             complete=int(k))
     for n, f, s, w, c, m, p, e, k in rows}
base = r["offpath --workers 1"]
slice_base = r.get("offpath --workers 1 (slice)", base)
print(f"{'tool':34} {'MB/s':>8} {'MB/CPU-s':>9} {'Mpkt/s':>7} {'kexch/s':>8} {'peak RSS MB':>11} "
      f"{'CPU/wall':>8} {'time / offpath w1':>17} {'CPU / offpath w1':>16}")
for name, v in r.items():
    ref = slice_base if v["path"] == slice_base["path"] else base  # h2c: beside HTTP/1.x
    mbs = v["size"] / 1e6 / v["wall"]
    mbc = v["size"] / 1e6 / max(v["cpu"], 1e-3)
    pk = (v["pk"] or ref["pk"]) / v["wall"] / 1e6
    ex = f"{v['ex'] / v['wall'] / 1e3:8.1f}" if v["ex"] else f"{'-':>8}"
    print(f"{name:34} {mbs:8.1f} {mbc:9.1f} {pk:7.2f} {ex} {v['rss']/1024:11.1f} "
          f"{v['cpu']/v['wall']:8.2f} {v['wall']/ref['wall']:16.2f}x {v['cpu']/max(ref['cpu'], 1e-3):15.2f}x")
multi = [n for n in r if n.startswith("offpath --workers") and n != "offpath --workers 1"
         and "slice" not in n and "h2c" not in n][0]
m = r[multi]
print(f"\n{multi}: speed-up {base['wall']/m['wall']:.2f}x over --workers 1 on {cores} cores; "
      f"CPU time / wall = {m['cpu']/m['wall']:.2f} (second core put to use: {max(0.0, m['cpu']/m['wall'] - 1):.0%})")
gen = open(base["path"] + ".gen").read()
written = int(re.search(r"exchanges=(\d+)", gen).group(1))
lossy = int(re.search(r"exchanges_with_loss=(\d+)", gen).group(1))
whole = written - lossy
verdict = "every one found" if base["complete"] >= whole else "MISSING some"
print(f"exchanges: the generator wrote {written} ({lossy} hit by --loss); offpath --workers 1 "
      f"reported {base['ex']}, {base['complete']} of them complete: {verdict} of the {whole} "
      f"not hit by a gap")
h2 = r.get("offpath --workers 1 (h2c)")
if h2:
    gen2 = open(h2["path"] + ".gen").read()
    written2 = int(re.search(r"exchanges=(\d+)", gen2).group(1))
    print(f"h2c beside HTTP/1.x (--workers 1, same seed and --size-mb): "
          f"{h2['size'] / 1e6 / h2['wall']:.1f} MB/s against {base['size'] / 1e6 / base['wall']:.1f}; "
          f"{h2['ex'] / h2['wall'] / 1e3:.1f} against {base['ex'] / base['wall'] / 1e3:.1f} kexch/s; "
          f"the generator wrote {written2} h2c exchanges, offpath reported {h2['ex']}, "
          f"{h2['complete']} complete")
print("packets/s for tools without a summary use offpath's packet count of the same file; "
      "MB/CPU-s is the file size over user+system time; the ratio columns are each tool's "
      "wall and CPU time over offpath --workers 1 on the same input.")
PY

[[ $REPLAY_ONLY == 1 ]] && exit 0

# Kafka publish throughput into librdkafka's mock cluster, beside librdkafka's own ceiling.
echo
if ! "$ROOT/scripts/bench-kafka.sh" --build "$BUILD"; then
  echo "bench.sh: the Kafka part failed (see above)" >&2
fi

# Live capture: packets each backend loses under a tcpreplay flood over veth (needs root).
echo
"$ROOT/scripts/bench-live-drops.sh" --build "$BUILD" --dir "$DIR" ||
  echo "bench.sh: the live-drops part failed (see above)" >&2
