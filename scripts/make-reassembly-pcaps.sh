#!/usr/bin/env bash
# Makes the reassembly captures of pcaps/ from the real keepalive-get.pcap (three GETs on
# one keep-alive connection to python3 http.server, recorded by record-pcaps.sh), and
# one from gzip-response.pcap, by dropping, swapping, duplicating, altering, resetting
# or cutting chosen frames: cases a real stack cannot be made to produce on demand.
# Frame numbers are tshark's.
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
# RSTs the receiver would ignore: out of the window (server's far ahead, client's behind)
mangle reasm-rst-out-of-window  --inject-rst 8:1000000000 --inject-rst 9:-100
# an RST in the window from the client between two exchanges, then its next request
mangle reasm-rst-injected       --inject-rst 9:0
# capture starts on a client keep-alive probe (one byte 0x00 before the second GET)
mangle reasm-keepalive-mid-stream --keep-from 9 --keepalive-before 10
# the client's SYN and the first response retransmitted after the close
mangle reasm-syn-after-close    --append 1 --append 6 --append 8
# an injected response head before the real one (302 instead of 200), and after it
mangle reasm-injected-response  --copy-replacing "6:200 OK:302 OK:before"
mangle reasm-delivered-conflict --copy-replacing "6:200 OK:302 OK"
# Losses that pairing must realign after (acknowledgement numbers).
mangle reasm-lost-response      --drop 11,13          # the second response lost entirely
mangle reasm-lost-response-start --drop 11            # its header segment lost, body seen
mangle reasm-lost-request-start --cut-head 10:30      # the start of the second GET lost
mangle reasm-lost-response-and-request --drop 11,13,15  # second response and third GET lost
# Picked up mid-stream, 30 bytes into the first GET's segment: that request is cut.
mangle mid-stream-cut-request   --cut-head 4:30 --keep-from 4
echo "made pcaps/reasm-*.pcap and pcaps/mid-stream-cut-request.pcap from $src"
# From gzip-response.pcap (GET /text/gzip, then GET /text/deflate on one connection):
# the last 24 bytes of the gzip body (frame 8) arrive at the front of the next status
# line's segment (frame 11), and the capture starts at the second GET (frame 10).
src=pcaps/gzip-response.pcap
mangle mid-stream-binary-resync --move-tail 8:11:24 --keep-from 10
echo "made pcaps/mid-stream-binary-resync.pcap from $src"
# From keepalive-high-port.pcap (the same three GETs to port 62080): the capture starts
# at the first response's body (frame 8), so the first bytes seen are body bytes and
# the higher port is taken for the client until the next request line shows otherwise.
src=pcaps/keepalive-high-port.pcap
mangle mid-stream-roles --keep-from 8
echo "made pcaps/mid-stream-roles.pcap from $src"
# pipelined.pcap: three GETs in one segment, answered in order.
src=pcaps/pipelined.pcap
mangle reasm-pipelined-lost-response --drop 10,12    # the second response lost entirely
echo "made pcaps/reasm-pipelined-lost-response.pcap from $src"
# HTTP/2 (issue 16), from h2c-h2load.pcap (two connections of 100 streams each; frame
# numbers of the connection from port 53666: 21, 22 server, 24 client):
src=pcaps/h2c-h2load.pcap
# the capture starts 105 bytes into a 1448-byte server segment of each connection (in
# the middle of a HEADERS frame): both picked up mid-stream, streams 41..79 of each are
# answered without their requests, 81..199 read without the HPACK dynamic tables
mangle h2c-mid-stream           --cut-head 25:105 --cut-head 29:105 --keep-from 25
mangle h2c-gap-request-headers  --drop 24     # the requests of streams 41..79 lost
mangle h2c-gap-response-headers --drop 21     # the responses' HEADERS of streams 1..31 lost
mangle h2c-gap-in-data          --cut-head 22:8  # 8 bytes lost inside DATA of stream 33
echo "made pcaps/h2c-mid-stream.pcap and pcaps/h2c-gap-*.pcap from $src"
# grpc-server-streaming.pcap from the server's HEADERS (frame 12): the call's request and
# the handshake are not in the capture, the port does not tell who the client is.
src=pcaps/grpc-server-streaming.pcap
mangle grpc-mid-stream --keep-from 12
echo "made pcaps/grpc-mid-stream.pcap from $src"
