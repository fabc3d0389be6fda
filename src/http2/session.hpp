// Http2Session: the HTTP/2 side of one TCP connection (prior-knowledge h2c, or the rest
// of an HTTP/1.1 connection after `Upgrade: h2c` -> 101). Owns a FrameReader and an
// HpackDecoder per direction and the connection's stream table; each stream is one
// Exchange (request.version "2"), emitted when both sides ended it (END_STREAM), when it
// is reset (RST_STREAM: outcome stream_reset, error_detail the error code), when a
// GOAWAY excludes it (outcome goaway), when its request ended and no response began
// within the response timeout (outcome timeout; a response that comes later is counted
// in late_responses and dropped), or when the connection finishes. Pairing is by
// stream id.
// A client's RST_STREAM does not end its stream at once: frames the server sent before
// it received the reset are still on the way (gRPC servers answer a cancelled call with
// trailers, e.g. grpc-status 4 after the client's deadline). The stream is emitted as
// stream_reset when the server ends it (END_STREAM or its own RST_STREAM), when
// kResetDrainMicros of packet time passed since the reset, or when the connection ends;
// what the server sent meanwhile is in the response.
// Times are packet times: the session checks its deadlines on each delivery of either
// direction, and expire() lets the worker do it for a connection that went quiet.
// Header blocks that cannot be decoded (HPACK state lost to a gap, a broken block, a
// truncated frame) still give their stream, with the pseudo-headers read and the
// hpack_desync anomaly. DATA lost in a gap inside a DATA frame is body_missing (the
// framing survives); after any other gap the direction's reader searches the next frame
// boundary (frame_sync.hpp) and goes on, its HPACK state lost for good (later blocks are
// read field by field, see HpackDecoder), open streams marked gap. A connection picked up
// mid-stream (pick_up()) begins so in both directions, every stream marked mid_stream.
// After either, a stream the server answers but whose request was not seen is a
// response-only exchange (request null, outcome orphan_response when it completes).
// Bounded: max_streams open streams (more are counted, their frames ignored), headers
// kept up to max_header_bytes per message, body up to max_body (a DATA frame is buffered
// no further than that), other frames buffered up to max_frame_bytes, a header block
// decoded up to max_header_block encoded bytes (a bigger one is not decoded further: its
// direction's HPACK state is lost, hpack_desync). Model: Suricata's rust/src/http2 (one
// state per stream).
// Owned by one connection; called on the worker thread that owns it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "common/memory_budget.hpp"
#include "exchange/exchange.hpp"
#include "http2/frame_reader.hpp"
#include "http2/hpack_decoder.hpp"

namespace offpath::http2 {

struct Http2Limits {
  std::uint32_t max_body = 1024;
  std::uint32_t max_header_bytes = 16384;
  std::uint32_t max_frame_bytes = 65536;  // frame payload buffered (bigger: truncated)
  std::uint32_t max_header_block = 262144;  // encoded header block bytes decoded (more: desync)
  std::uint32_t max_streams = 256;        // open streams per connection
  std::int64_t response_timeout_us = 0;   // --response-timeout (0: streams never time out)
  const MemoryBudget* budget = nullptr;   // from kShedBodies on, new streams keep no body
};

struct Http2Counters {
  std::uint64_t connections = 0;
  std::uint64_t frames = 0;
  std::uint64_t streams = 0;          // streams emitted as exchanges
  std::uint64_t resets = 0;           // RST_STREAM frames
  std::uint64_t goaways = 0;          // GOAWAY frames
  std::uint64_t hpack_errors = 0;     // header blocks not decoded
  std::uint64_t streams_dropped = 0;  // streams beyond max_streams
  std::uint64_t upgrades = 0;         // connections switched from HTTP/1.1 by a 101 (h2c)
  std::uint64_t skipped_bytes = 0;    // bytes not parsed (after framing was lost)
  std::uint64_t resyncs = 0;          // frame boundaries found again (gap, pick-up)
  std::uint64_t picked_up = 0;        // connections recognised mid-stream from frames

  Http2Counters& operator+=(const Http2Counters& o) {
    connections += o.connections;
    frames += o.frames;
    streams += o.streams;
    resets += o.resets;
    goaways += o.goaways;
    hpack_errors += o.hpack_errors;
    streams_dropped += o.streams_dropped;
    upgrades += o.upgrades;
    skipped_bytes += o.skipped_bytes;
    resyncs += o.resyncs;
    picked_up += o.picked_up;
    return *this;
  }
};

// RFC 9113 section 7 error code name ("CANCEL"), or "0x.." for unknown codes.
std::string error_code_name(std::uint32_t code);

// How long after a client's RST_STREAM the server's frames of that stream are still
// awaited (packet time): above the round-trip times of the paths a gateway sees.
inline constexpr std::int64_t kResetDrainMicros = 1'000'000;

class Http2Session : private FrameSink {
 public:
  // The client stream begins with the connection preface, with prior knowledge as
  // after an upgrade (RFC 9113 section 3.4): it is checked and skipped.
  Http2Session(const Http2Limits& limits, ExchangeHandler& out);
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  void set_context(const Endpoint& client, const Endpoint& server, std::uint64_t connection_id,
                   Timestamp connection_start);
  // After `Upgrade: h2c` -> 101: the HTTP/1.1 request is stream 1, whose response
  // comes as HTTP/2 (RFC 7540 section 3.2); the 101 (with any interim status before it)
  // goes to interim_statuses, `anomalies` are what the HTTP/1.1 side marked on the
  // exchange. Call before feeding; counts the connection in `upgrades`.
  void adopt_upgrade_request(std::optional<HttpMessage>&& request, std::vector<int> interim,
                             std::uint32_t anomalies);
  // Streams are numbered in the connection from `index` on (after HTTP/1.1 exchanges).
  void set_first_index(std::uint32_t index) { next_index_ = index; }
  // The connection was picked up mid-stream: both directions begin at an arbitrary byte
  // and HPACK state is unknown. `unparsed`: bytes of it already seen and not parsed.
  // Call before feeding.
  void pick_up(std::uint64_t unparsed);
  // Marks every stream, open or to come (mid_stream: a direction began out of sight).
  void add_anomaly(std::uint32_t bits);

  void on_data(bool from_client, ByteView bytes, Timestamp ts);
  void on_gap(bool from_client, std::uint64_t length, Timestamp ts);
  // The connection ended: every open stream is emitted with `why` (one a client reset
  // as stream_reset).
  void finish(Outcome why);
  // Packet time `now` has come (the connection went quiet): emits the streams whose
  // response is overdue and the reset streams no longer awaited. on_data and on_gap do
  // it themselves with the time of what they are given.
  void expire(Timestamp now);

  const Http2Counters& counters() const { return counters_; }
  // Responses that came on a stream already emitted as timed out.
  std::uint64_t late_responses() const { return late_responses_; }
  // Heap bytes for the memory budget: the session itself (object, frame buffers, HPACK
  // tables: the http pool) and its open streams (the exchanges pool).
  std::int64_t state_bytes() const;
  std::int64_t streams_bytes() const;
  std::int64_t heap_bytes() const { return state_bytes() + streams_bytes(); }
  std::size_t open_streams() const { return streams_.size(); }

 private:
  struct Stream {
    std::uint32_t id = 0;
    std::uint32_t index = 0;
    Exchange ex;
    bool request_ended = false;
    bool response_ended = false;
    bool keep_body = true;
    bool reset_by_client = false;  // RST_STREAM from the client: the server's end awaited
    Timestamp reset_at;
    Timestamp request_done;        // when the request ended (the response timeout's start)
    bool request_seen = false;     // its request's first header block was read
  };
  struct Direction {
    explicit Direction(bool preface, std::uint32_t max_frame)
        : reader(preface, max_frame) {}
    FrameReader reader;
    HpackDecoder hpack;
    std::uint32_t block_stream = 0;  // stream of the header block in progress (0: none)
    std::uint64_t block_bytes = 0;   // encoded bytes of it so far
    bool block_failed = false;       // it was counted as an hpack error
    bool block_discard = false;      // its headers are decoded but not kept (PUSH_PROMISE)
  };

  void on_frame(const Frame& frame) override;
  void on_headers(const Frame& f, bool first_fragment);
  void on_data_frame(const Frame& f);
  void on_rst_stream(const Frame& f);
  void on_goaway(const Frame& f);
  void on_settings(const Frame& f);
  Stream* find(std::uint32_t id);
  Stream* open(std::uint32_t id);
  // After a pick-up or a gap: the stream of a server frame, begun out of sight.
  Stream* open_unseen(std::uint32_t id);
  void count_reader(Direction& d, std::uint64_t skipped_before, std::uint64_t resyncs_before);
  HttpMessage& message(Stream& s, bool from_client);
  void end_message(Stream& s, bool from_client, Timestamp ts);
  void emit(std::size_t pos, Outcome outcome);
  // The stream waits for the start of its response (its request ended).
  bool awaits_response(const Stream& s) const;
  void schedule(std::int64_t due_micros) { next_check_ = std::min(next_check_, due_micros); }
  void remember_timed_out(std::uint32_t id);
  bool take_timed_out(std::uint32_t id);

  Http2Limits limits_;
  ExchangeHandler& out_;
  Endpoint client_;
  Endpoint server_;
  std::uint64_t connection_id_ = 0;
  Timestamp connection_start_;
  std::array<Direction, 2> dirs_;  // [0] client -> server, [1] server -> client
  bool from_client_ = true;        // direction of the frame being handled
  std::vector<Stream> streams_;
  std::uint32_t next_index_ = 0;
  std::uint32_t highest_stream_ = 0;  // highest stream id opened (or dropped)
  // Packet time at which a stream may be overdue (a response timeout or a reset's end).
  std::int64_t next_check_ = std::numeric_limits<std::int64_t>::max();
  // The last streams emitted as timed out, so that a late response is counted.
  std::array<std::uint32_t, 8> timed_out_{};
  std::size_t timed_out_next_ = 0;
  std::uint64_t late_responses_ = 0;
  std::uint32_t base_anomalies_ = 0;  // of every stream (mid_stream once picked up)
  std::uint32_t unseen_anomalies_ = 0;  // of streams begun out of sight (0: none can be)
  std::array<std::uint32_t, 16> emitted_ = {};  // recently emitted stream ids (ring)
  std::size_t emitted_next_ = 0;
  Http2Counters counters_;
};

}  // namespace offpath::http2
