#!/usr/bin/env bash
# Makes the reassembly captures of pcaps/ from the real keepalive-get.pcap (three GETs on
# one keep-alive connection to python3 http.server, recorded by record-pcaps.sh) by
# dropping, swapping, duplicating, altering or resetting chosen frames: cases a real
# stack cannot be made to produce on demand. Frame numbers are tshark's.
set -euo pipefail
cd "$(dirname "$0")/.."
src=pcaps/keepalive-get.pcap
mangle() { /usr/bin/python3 scripts/mangle-pcap.py "$src" "pcaps/$1.pcap" "${@:2}"; }
mangle reasm-gap-in-body        --drop 8              # body segment of the first 200 lost
mangle reasm-lost-request       --drop 10             # the second GET lost entirely
mangle reasm-reordered          --swap 6:8            # header and body segments swapped
mangle reasm-retransmitted      --dup 4 --dup 11      # a request and a response resent
mangle reasm-overlap-conflict   --swap 6:8 --dup-altered 8  # resent bytes that differ
mangle reasm-mid-stream         --keep-from 5         # capture starts after the first GET
mangle reasm-reset-mid-body     --rst 8 --end-after 8 # server resets inside the first body
echo "made pcaps/reasm-*.pcap from $src"
