// Connection: everything offpath knows about one TCP connection: which side is the
// client, the reassembler and HTTP parser of each direction, and the pairer that turns
// their messages into exchanges. Fed segments by the worker that owns it (worker thread).
//
// Roles: the client is the side that sent the SYN (or received the SYN-ACK); without a
// handshake, the side whose first bytes look like a request line (or whose peer's look
// like a status line); failing both (the first bytes seen are body bytes), a guess (the
// side with the higher port) that the first request or status line found in either
// direction confirms or reverses.
// HTTP/2 (h2c with prior knowledge): a client stream that begins with the connection
// preface (`PRI * HTTP/2.0`), or a server stream that begins with a SETTINGS frame, both
// seen from their first byte, hands the rest of both streams to an Http2Session instead
// of the HTTP/1.x parsers (any port). After an HTTP/1.1 `Upgrade: h2c` answered by 101
// the rest of both streams (the parsers' tunnel bytes) goes to an Http2Session too, whose
// stream 1 is the request that asked: one record, the HTTP/1.1 request with stream 1's
// response and the 101 among its interim statuses (the 101 alone is a record, `upgraded`,
// only when no HTTP/2 byte follows).
// A direction seen without its first byte (picked up mid-stream, or its start lost) is
// HTTP/2 when chained frame headers show it (http2/frame_sync.hpp), within its first
// 64 KiB, while neither HTTP/1.x parser found a message and, when the roles are only
// guessed from the ports, once the frames show which side sent them (they may reverse
// the guess); the session then searches frame boundaries in both directions, with HPACK
// state unknown. A direction whose first byte was seen and began neither h2c start is
// never searched.
// Not HTTP: a connection in which neither direction began as HTTP (see HttpParser's
// NotHttp state; picked up mid-stream: no start line found) emits nothing and is counted
// in not_http_connections / not_http_bytes when it finishes.
// A connection ends on RST, when both directions have delivered their FIN, or when the
// worker times it out, evicts it or the capture ends; finish() emits every open request
// and frees the HTTP state (a finished connection lingers in the flow table a while, so
// that late segments do not start a new one, and holds only its counters meanwhile).
// An RST the receiver would ignore does not end it (counted `rst_ignored`): one whose
// sequence number is outside the window, or one after which the same sender goes on
// with its stream (a real stack sends nothing after its RST: the RST was injected, or
// never reached the receiver). The latter is known only afterwards: the connection was
// finished at the RST and comes back to life, its parsers resynchronising at the next
// message start. Keep-alive probes (one byte just before the next expected one) are not
// data, and a retransmitted SYN with the old ISN belongs to the finished connection.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "decode/segment.hpp"
#include "exchange/pairer.hpp"
#include "flow/flow_key.hpp"
#include "http/parser.hpp"
#include "http2/session.hpp"
#include "tcp/reassembler.hpp"

namespace offpath {

struct ConnectionCounters {
  ReassemblyCounters reassembly;
  ParserCounters parser;
  std::uint64_t orphan_responses = 0;
  std::uint64_t late_responses = 0;
  std::uint64_t ack_gaps = 0;  // gaps declared because the peer acknowledged past a hole
  std::uint64_t not_http_connections = 0;  // finished with no HTTP in either direction
  std::uint64_t not_http_bytes = 0;        // their bytes, both directions
  std::uint64_t rst_ignored = 0;  // RSTs out of the window or followed by more data
  http2::Http2Counters http2;

  ConnectionCounters& operator+=(const ConnectionCounters& o) {
    reassembly += o.reassembly;
    parser += o.parser;
    orphan_responses += o.orphan_responses;
    late_responses += o.late_responses;
    ack_gaps += o.ack_gaps;
    not_http_connections += o.not_http_connections;
    not_http_bytes += o.not_http_bytes;
    rst_ignored += o.rst_ignored;
    http2 += o.http2;
    return *this;
  }
};

// Heap bytes a connection holds beyond its flow-table entry, by memory pool.
struct ConnectionMemory {
  std::int64_t http = 0;          // parser state (both directions), once data arrived
  std::int64_t exchanges = 0;     // open exchanges: messages held until paired
  std::int64_t out_of_order = 0;  // held out-of-order segments

  bool operator==(const ConnectionMemory&) const = default;
};

// Stable id of a connection: its key and the packet time of its first packet.
std::uint64_t connection_id(const FlowKey& key, Timestamp start);

class Connection {
 public:
  Connection(const FlowKey& key, Timestamp start, const ParserLimits& limits,
             const ReassemblyOptions& reassembly, ExchangeHandler& out);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void on_segment(Side sender, const Segment& seg);
  // Ends the connection: flushes both directions, finishes both parsers and emits open
  // requests with `why`. Idempotent.
  void finish(Outcome why, Timestamp ts);
  // Emits requests waiting for a response since before `deadline` as timed out (HTTP/2:
  // whose request ended before it; streams also time out on the connection's packets).
  void expire_requests(Timestamp deadline);

  bool finished() const { return finished_; }
  bool has_open_requests() const {
    return http_ && (http_->pairer.has_open() || (http_->h2 && http_->h2->open_streams() != 0));
  }
  // A SYN from `sender` that starts a new connection on this 4-tuple (port reuse).
  bool is_new_handshake(Side sender, const Segment& seg) const;
  std::uint64_t held_bytes() const;
  // What the connection holds now (walks its state), and what its worker last accounted
  // for it in the memory budget.
  ConnectionMemory memory() const;
  ConnectionMemory& accounted() { return accounted_; }
  ConnectionCounters counters() const;
  Timestamp start() const { return start_; }

 private:
  struct Direction;
  class DirectionHandler final : public StreamHandler, public TunnelHandler {
   public:
    DirectionHandler(Connection& c, Side side) : conn_(c), side_(side) {}
    void on_data(std::uint64_t offset, ByteView data, Timestamp ts) override;
    void on_gap(std::uint64_t offset, std::uint64_t length, Timestamp ts) override;
    bool on_tunnel_data(ByteView data, Timestamp ts) override;

   private:
    Connection& conn_;
    Side side_;
  };
  struct Direction {
    // (Fields ordered so that a connection of a SYN flood stays small.)
    StreamReassembler reassembler;
    bool syn_seen = false;
    bool fin_seen = false;
    bool ended = false;
    bool parser_started = false;
    bool start_delivered = false;  // its first byte after the SYN began neither h2c start
    bool peer_ack_seen = false;
    std::uint32_t isn = 0;
    std::uint32_t peer_ack = 0;  // the last acknowledgement of this direction by the peer
    std::uint64_t fin_offset = 0;
    // The peer acknowledged bytes we have not seen. The hole becomes a gap only if it is
    // still open a few packets later, or as soon as the peer sends data of its own (which
    // answers what it acknowledged): a capture may show an ACK before the data it
    // acknowledges (queues, interfaces), and that data must not be thrown away.
    std::uint64_t ack_target = 0;
    int ack_target_age = 0;  // packets of this connection since the target was set
    explicit Direction(std::uint64_t max_held) : reassembler(max_held) {}
  };

  // The HTTP state exists only once a payload byte arrives, so that handshakes that never
  // carry data (SYN floods, port scans) cost a few hundred bytes, not kilobytes.
  struct HttpState {
    Pairer pairer;
    HttpParser request_parser;
    HttpParser response_parser;
    std::unique_ptr<http2::Http2Session> h2;  // set once the connection is HTTP/2
    HttpState(const Pairer::Context& ctx, ExchangeHandler& out, const ParserLimits& limits)
        : pairer(ctx, out),
          request_parser(MessageKind::Request, pairer, limits),
          response_parser(MessageKind::Response, pairer, limits) {
      pairer.set_request_parser(&request_parser);
      request_parser.set_peer(&response_parser);
      response_parser.set_peer(&request_parser);
    }
  };

  // What the parsers and the pairer counted (zero before the HTTP state exists).
  ConnectionCounters http_counters() const;
  void decide_roles(Side sender, const Segment& seg);
  // While the roles are a guess: reverses them if `side`'s parser found a start line of
  // the other kind, and makes them firm once either direction began a message.
  void settle_roles(Side side, Timestamp ts);
  void count_not_http();
  // Switches to HTTP/2 if `side`'s first bytes (stream offset 0) say so.
  bool detect_http2(Side side, std::uint64_t offset, ByteView data);
  bool pick_up_http2(bool from_client, std::uint64_t offset, ByteView data);
  void start_http2();
  // The parsers hand their tunnel bytes to the handler of the side they read.
  void attach_tunnel_handlers();
  void ensure_http();
  HttpParser& parser(Side side);
  void start_direction(Side side, const Segment& seg);
  void start_parser(Side side);
  bool rst_in_window(const Direction& d, std::uint32_t seq) const;
  bool is_keepalive_probe(const Direction& d, const Segment& seg) const;
  bool revive_after_reset(Side sender, const Segment& seg);
  void on_ack(Side sender, const Segment& seg);
  void check_fin(Side side, Timestamp ts);
  void age_ack_targets(Timestamp ts, bool force);
  void age_ack_target(Side side, Timestamp ts, bool force);
  std::int64_t response_timeout_us() const {
    return static_cast<std::int64_t>(response_timeout_s_) * 1'000'000;
  }

  FlowKey key_;
  Timestamp start_;
  ParserLimits limits_;
  ExchangeHandler& out_;
  std::array<Direction, 2> dirs_;
  std::array<DirectionHandler, 2> handlers_;
  std::optional<Side> client_;
  bool mid_stream_ = false;
  bool roles_guessed_ = false;
  std::uint32_t response_timeout_s_;  // --response-timeout, for HTTP/2 streams
  std::unique_ptr<HttpState> http_;  // released by finish(), see ended_http_
  ConnectionCounters ended_http_;     // http_counters() of every released http_
  std::uint64_t not_http_connections_ = 0;
  std::uint64_t not_http_bytes_ = 0;
  bool finished_ = false;
  std::optional<Side> reset_by_;  // finished by an RST from this side
  std::uint32_t rst_ignored_ = 0;
  std::uint64_t ack_gaps_ = 0;
  ConnectionMemory accounted_;
};

}  // namespace offpath
