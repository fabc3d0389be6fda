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
mangle reasm-lost-response      --drop 11,13          # the second response lost entirely
mangle reasm-lost-response-start --drop 11            # its header segment lost, body seen
mangle reasm-lost-request-start --lose-head 10:30     # the start of the second GET lost
mangle reasm-lost-response-and-request --drop 11,13,15  # second response and third GET lost
# pipelined.pcap: three GETs in one segment, answered in order.
src=pcaps/pipelined.pcap
mangle reasm-pipelined-lost-response --drop 10,12    # the second response lost entirely
echo "made pcaps/reasm-*.pcap from pcaps/keepalive-get.pcap and pcaps/pipelined.pcap"
