#include "pipeline/connection.hpp"

#include <algorithm>
#include <optional>

#include "http2/frame_sync.hpp"

namespace offpath {
namespace {

// How far past the next expected sequence number an RST may be and still be taken as
// real. The capture does not see the receiver's window (nor its scale): this bound is
// above the windows of common stacks, and a forged RST with a random sequence number
// falls inside it once in 512 tries.
constexpr std::int64_t kRstWindowBytes = std::int64_t{8} << 20;

// Where `seq` is relative to the next byte expected from this direction, when known.
std::optional<std::int64_t> ahead_of_expected(const StreamReassembler& r, bool syn_seen,
                                              std::uint32_t isn, std::uint32_t seq) {
  if (r.started()) return r.offset_of(seq) - static_cast<std::int64_t>(r.next_offset());
  if (syn_seen) return static_cast<std::int32_t>(seq - (isn + 1));
  return std::nullopt;
}

// A SETTINGS frame header on stream 0 with no flags: what an HTTP/2 server sends first.
bool looks_like_server_settings(ByteView d) {
  if (d.size() < http2::kFrameHeaderSize) return false;
  const std::uint32_t len = (std::uint32_t{d[0]} << 16) | (std::uint32_t{d[1]} << 8) | d[2];
  return len % 6 == 0 && len <= 6 * 16 && d[3] == static_cast<std::uint8_t>(http2::FrameType::Settings) &&
         d[4] == 0 && load_be32(d.data() + 5) == 0;
}

// At least "PRI" of the client connection preface, and nothing else.
bool looks_like_client_preface(ByteView d) {
  const std::size_t n = std::min(d.size(), http2::kClientPreface.size());
  return n >= 3 && as_chars(d.first(n)) == http2::kClientPreface.substr(0, n);
}

}  // namespace

std::uint64_t connection_id(const FlowKey& key, Timestamp start) {
  std::uint64_t h = key.id_hash() ^ static_cast<std::uint64_t>(start.micros) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

Connection::Connection(const FlowKey& key, Timestamp start, const ParserLimits& limits,
                       const ReassemblyOptions& reassembly, ExchangeHandler& out)
    : key_(key),
      start_(start),
      limits_(limits),
      out_(out),
      dirs_{Direction(reassembly.max_ooo_bytes_per_flow),
            Direction(reassembly.max_ooo_bytes_per_flow)},
      handlers_{DirectionHandler(*this, Side::Lo), DirectionHandler(*this, Side::Hi)},
      response_timeout_s_(reassembly.response_timeout_s) {}

bool Connection::is_new_handshake(Side sender, const Segment& seg) const {
  if (!seg.has(tcp_flags::kSyn) || seg.has(tcp_flags::kAck)) return false;
  const Direction& d = dirs_[static_cast<std::size_t>(sender)];
  // Same ISN = SYN retry, also after the close: its data is a retransmission.
  if (finished_) return !d.syn_seen || d.isn != seg.seq;
  if (!d.syn_seen) return false;  // first SYN of a flow picked up mid-stream: keep it
  return d.isn != seg.seq;
}

std::uint64_t Connection::held_bytes() const {
  return dirs_[0].reassembler.held_bytes() + dirs_[1].reassembler.held_bytes();
}

ConnectionMemory Connection::memory() const {
  // A held segment: a std::map node (key and vector) and the vector's bytes.
  constexpr std::int64_t kHeldNode = heap_bytes(32 + sizeof(std::uint64_t) + 24);
  ConnectionMemory m;
  for (const auto& d : dirs_) {
    const std::size_t segments = d.reassembler.held_segments();
    if (segments == 0) continue;
    m.out_of_order += static_cast<std::int64_t>(d.reassembler.held_bytes()) +
                      static_cast<std::int64_t>(segments) * (kHeldNode + 24);
  }
  if (http_) {
    m.http = heap_bytes(sizeof(HttpState)) + http_->request_parser.heap_bytes() +
             http_->response_parser.heap_bytes();
    m.exchanges = http_->pairer.heap_bytes();
    if (http_->h2) {
      m.http += http_->h2->state_bytes();
      m.exchanges += http_->h2->streams_bytes();
    }
  }
  return m;
}

ConnectionCounters Connection::http_counters() const {
  ConnectionCounters c;
  if (!http_) return c;
  c.parser += http_->request_parser.counters();
  c.parser += http_->response_parser.counters();
  c.orphan_responses = http_->pairer.orphan_responses();
  c.late_responses = http_->pairer.late_responses();
  if (http_->h2) {
    c.http2 = http_->h2->counters();
    c.late_responses += http_->h2->late_responses();
  }
  return c;
}

ConnectionCounters Connection::counters() const {
  ConnectionCounters c = ended_http_;
  if (http_) c += http_counters();
  for (const auto& d : dirs_) {
    c.reassembly += d.reassembler.counters();
  }
  c.ack_gaps = ack_gaps_;
  c.not_http_connections = not_http_connections_;
  c.not_http_bytes = not_http_bytes_;
  c.rst_ignored = rst_ignored_;
  return c;
}

void Connection::ensure_http() {
  if (http_) return;
  Pairer::Context ctx;
  ctx.client = key_.endpoint(*client_);
  ctx.server = key_.endpoint(other(*client_));
  ctx.connection_id = connection_id(key_, start_);
  ctx.connection_start = start_;
  http_ = std::make_unique<HttpState>(ctx, out_, limits_);
  attach_tunnel_handlers();
  // A connection back after an ignored RST keeps what the first state knew.
  if (mid_stream_) http_->pairer.add_anomaly(anomaly::kMidStream);
}

HttpParser& Connection::parser(Side side) {
  return side == *client_ ? http_->request_parser : http_->response_parser;
}

void Connection::decide_roles(Side sender, const Segment& seg) {
  if (client_) return;
  if (seg.has(tcp_flags::kSyn)) {
    client_ = seg.has(tcp_flags::kAck) ? other(sender) : sender;
    return;
  }
  if (seg.payload.empty()) return;
  std::string_view text = as_chars(seg.payload);
  if (looks_like_request_start(text)) {
    client_ = sender;
  } else if (looks_like_response_start(text)) {
    client_ = other(sender);
  } else {
    // Neither: guess that the server has the lower port (ties: the higher address).
    const Endpoint& mine = key_.endpoint(sender);
    const Endpoint& theirs = key_.endpoint(other(sender));
    client_ = mine.port > theirs.port || (mine.port == theirs.port && sender == Side::Lo)
                  ? sender
                  : other(sender);
    roles_guessed_ = true;
  }
}

void Connection::settle_roles(Side side, Timestamp ts) {
  HttpParser& found = parser(side);
  std::string bytes;
  std::uint64_t offset = 0;
  if (found.take_handoff(bytes, offset)) {
    // `side` sent a start line of the kind its peer was thought to send: reverse. The
    // bytes from that start line on go to the other parser, which then reads `side`.
    client_ = other(*client_);
    http_->pairer.set_endpoints(key_.endpoint(*client_), key_.endpoint(other(*client_)));
    http_->request_parser.swap_streams(http_->response_parser);
    attach_tunnel_handlers();
    roles_guessed_ = false;
  } else if (http_->request_parser.began_http() || http_->response_parser.began_http()) {
    roles_guessed_ = false;
  }
  if (roles_guessed_) return;
  http_->request_parser.set_either_kind(false);
  http_->response_parser.set_either_kind(false);
  if (!bytes.empty()) {
    parser(side).feed(offset, ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                       bytes.size()), ts);
  }
}

void Connection::start_direction(Side side, const Segment& seg) {
  ensure_http();
  Direction& d = dirs_[static_cast<std::size_t>(side)];
  if (!d.reassembler.started()) {
    if (d.syn_seen) {
      d.reassembler.start(d.isn + 1);
    } else {
      d.reassembler.start(seg.seq);
      if (!mid_stream_) {
        mid_stream_ = true;
        http_->pairer.add_anomaly(anomaly::kMidStream);
        if (http_->h2) http_->h2->add_anomaly(anomaly::kMidStream);
      }
      // Responses sent before the capture began may answer requests seen already.
      if (side != *client_) http_->pairer.responses_may_be_lost();
    }
  }
  if (!d.parser_started) start_parser(side);
}

void Connection::start_parser(Side side) {
  Direction& d = dirs_[static_cast<std::size_t>(side)];
  d.parser_started = true;
  // After a handshake the stream starts with a message, unless the connection came
  // back after an ignored RST with part of the stream already parsed.
  parser(side).start(d.syn_seen && d.reassembler.next_offset() == 0);
  parser(side).set_either_kind(roles_guessed_);
}

// An RST is acceptable at or past the next expected sequence number, within the window
// (RFC 793). When nothing is known of the sender's sequence numbers (an RST answering a
// SYN), it is.
bool Connection::rst_in_window(const Direction& d, std::uint32_t seq) const {
  auto ahead = ahead_of_expected(d.reassembler, d.syn_seen, d.isn, seq);
  return !ahead || (*ahead >= 0 && *ahead < kRstWindowBytes);
}

// A keep-alive probe repeats the byte before the next expected one. Before the direction
// has a starting point (picked up mid-stream) that is the byte before the peer's last
// acknowledgement; with no acknowledgement seen yet, any lone byte is taken for one
// rather than started from: a stream started one byte early would hide the next
// request from the parser looking for a line start.
bool Connection::is_keepalive_probe(const Direction& d, const Segment& seg) const {
  if (seg.payload_len != 1 || seg.payload.size() != 1) return false;
  if ((seg.flags & (tcp_flags::kSyn | tcp_flags::kFin | tcp_flags::kRst)) != 0) return false;
  if (d.reassembler.started()) {
    const auto next = static_cast<std::int64_t>(d.reassembler.next_offset());
    return d.reassembler.offset_of(seg.seq) + 1 == next;
  }
  if (d.syn_seen) return false;
  return !d.peer_ack_seen || seg.seq + 1 == d.peer_ack;
}

// A connection finished by an RST from `sender` whose sender now goes on with its stream:
// the RST did not end the connection. Parsing resumes at the next message start.
bool Connection::revive_after_reset(Side sender, const Segment& seg) {
  if (!reset_by_ || *reset_by_ != sender || !client_) return false;
  if (seg.payload.empty() || seg.has(tcp_flags::kSyn) || seg.has(tcp_flags::kRst)) return false;
  const Direction& d = dirs_[static_cast<std::size_t>(sender)];
  if (d.fin_seen) return false;
  auto ahead = ahead_of_expected(d.reassembler, d.syn_seen, d.isn, seg.seq);
  if (!ahead || *ahead < 0 || *ahead >= kRstWindowBytes) return false;
  ++rst_ignored_;
  reset_by_.reset();
  finished_ = false;
  // A new HTTP state; a direction with a starting point may get gaps before data (the
  // peer's acknowledgements), so its parser starts now, looking for a message start.
  ensure_http();
  for (Side side : {Side::Lo, Side::Hi}) {
    Direction& x = dirs_[static_cast<std::size_t>(side)];
    x.parser_started = false;
    if (x.reassembler.started()) start_parser(side);
  }
  return true;
}

void Connection::on_segment(Side sender, const Segment& seg) {
  Direction& d = dirs_[static_cast<std::size_t>(sender)];
  // Data in a SYN (TCP Fast Open) starts after the sequence number the SYN takes.
  const std::uint32_t data_seq = seg.seq + (seg.has(tcp_flags::kSyn) ? 1u : 0u);
  if (finished_ && !revive_after_reset(sender, seg)) {
    d.reassembler.count_late(data_seq, seg.payload.size());
    return;
  }
  if (seg.has(tcp_flags::kSyn)) {
    if (!d.syn_seen) {
      d.syn_seen = true;
      d.isn = seg.seq;
    }
    decide_roles(sender, seg);
  }
  if (seg.has(tcp_flags::kRst)) {
    if (!rst_in_window(d, seg.seq)) {
      ++rst_ignored_;
      return;
    }
    reset_by_ = sender;
    finish(Outcome::ConnectionReset, seg.ts);
    return;
  }
  const bool has_data = !seg.payload.empty() && !is_keepalive_probe(d, seg);
  if (seg.has(tcp_flags::kAck)) {
    Direction& peer = dirs_[static_cast<std::size_t>(other(sender))];
    peer.peer_ack_seen = true;
    peer.peer_ack = seg.ack;
  }
  if (has_data) decide_roles(sender, seg);
  // The ACK first: a response's first segment acknowledges the request it answers.
  if (seg.has(tcp_flags::kAck) && client_) on_ack(sender, seg);
  if (has_data) {
    // The sender acknowledged the peer's bytes and now answers: what it acknowledged must
    // be parsed before this answer, so a hole still open there is a gap now.
    age_ack_target(other(sender), seg.ts, true);
    start_direction(sender, seg);
    const Direction& server = dirs_[static_cast<std::size_t>(other(sender))];
    if (sender == *client_ && server.syn_seen && !server.reassembler.started() &&
        seg.has(tcp_flags::kAck)) {
      // No server data seen yet (maybe lost): the offset from the server's SYN still holds.
      const auto had = static_cast<std::int32_t>(seg.ack - (server.isn + 1));
      http_->pairer.set_client_ack(static_cast<std::uint64_t>(std::max(had, 0)));
    }
    const std::uint64_t conflicts = d.reassembler.counters().overlap_conflicts;
    d.reassembler.add(data_seq, seg.payload, seg.ts, handlers_[static_cast<std::size_t>(sender)]);
    // Client bytes parsed later (held out of order) were sent with another acknowledgement.
    if (sender == *client_ && http_) http_->pairer.forget_client_ack();
    if (d.reassembler.counters().overlap_conflicts != conflicts) {
      http_->pairer.mark_open(anomaly::kOverlapConflict);
    }
    if (finished_) return;
  }
  if (seg.has(tcp_flags::kFin) && client_ && !d.fin_seen) {
    if (!d.reassembler.started()) start_direction(sender, seg);
    d.fin_seen = true;
    std::int64_t off = d.reassembler.offset_of(data_seq) + static_cast<std::int64_t>(seg.payload_len);
    d.fin_offset = static_cast<std::uint64_t>(std::max<std::int64_t>(off, 0));
  }
  age_ack_targets(seg.ts, false);
  check_fin(Side::Lo, seg.ts);
  check_fin(Side::Hi, seg.ts);
  if (dirs_[0].ended && dirs_[1].ended) finish(Outcome::ConnectionClosed, seg.ts);
}

void Connection::on_ack(Side sender, const Segment& seg) {
  Direction& peer = dirs_[static_cast<std::size_t>(other(sender))];
  if (!peer.reassembler.started()) return;
  std::int64_t acked = peer.reassembler.offset_of(seg.ack);
  if (http_) {
    // What each side had received when it sent this: the pairer aligns on it after loss.
    const auto had = static_cast<std::uint64_t>(std::max<std::int64_t>(acked, 0));
    if (sender == *client_) {
      http_->pairer.set_client_ack(had);
    } else {
      http_->pairer.set_server_ack(had);
    }
  }
  if (peer.fin_seen) acked = std::min<std::int64_t>(acked, static_cast<std::int64_t>(peer.fin_offset));
  if (acked <= static_cast<std::int64_t>(peer.reassembler.next_offset())) return;
  // The receiver has bytes the capture has not shown us (yet).
  if (peer.ack_target == 0) peer.ack_target_age = 0;
  peer.ack_target = std::max(peer.ack_target, static_cast<std::uint64_t>(acked));
}

void Connection::age_ack_targets(Timestamp ts, bool force) {
  age_ack_target(Side::Lo, ts, force);
  age_ack_target(Side::Hi, ts, force);
}

void Connection::age_ack_target(Side side, Timestamp ts, bool force) {
  constexpr int kPatiencePackets = 3;
  Direction& d = dirs_[static_cast<std::size_t>(side)];
  if (d.ack_target == 0 || finished_) return;
  if (d.reassembler.next_offset() >= d.ack_target) {
    d.ack_target = 0;  // the data arrived after all
    return;
  }
  if (!force && ++d.ack_target_age < kPatiencePackets) return;
  // Still missing: the capture lost those bytes. Declare them a gap.
  ++ack_gaps_;
  std::uint64_t target = d.ack_target;
  d.ack_target = 0;
  d.reassembler.skip_to_offset(target, ts, handlers_[static_cast<std::size_t>(side)]);
}

void Connection::check_fin(Side side, Timestamp ts) {
  Direction& d = dirs_[static_cast<std::size_t>(side)];
  if (!d.fin_seen || d.ended || finished_) return;
  if (d.reassembler.next_offset() < d.fin_offset) return;
  d.ended = true;
  if (d.parser_started) parser(side).finish(ts);
}

void Connection::finish(Outcome why, Timestamp ts) {
  if (finished_) return;
  if (client_ && http_) age_ack_targets(ts, true);  // acknowledged holes are gaps now
  finished_ = true;
  for (auto& d : dirs_) d.reassembler.forget_recent();
  if (!client_ || !http_) return;
  for (std::size_t i = 0; i < 2; ++i) {
    Direction& d = dirs_[i];
    if (!d.parser_started) continue;
    d.reassembler.flush(ts, handlers_[i]);
    if (!http_->h2) parser(static_cast<Side>(i)).finish(ts);
  }
  http_->pairer.close(why);
  if (http_->h2) {
    http_->h2->finish(why);
  } else {
    count_not_http();
  }
  // Nothing is parsed or paired any more: keep the counters, give the memory back now
  // rather than when the finished connection leaves the table.
  ended_http_ += http_counters();
  http_.reset();
}

// Neither direction began as HTTP: the connection made no record; count it and its bytes.
void Connection::count_not_http() {
  const HttpParser& req = http_->request_parser;
  const HttpParser& resp = http_->response_parser;
  if (req.began_http() || resp.began_http()) return;
  const std::uint64_t bytes = req.stream_bytes() + resp.stream_bytes();
  if (bytes == 0) return;
  ++not_http_connections_;
  not_http_bytes_ += bytes;
}

void Connection::expire_requests(Timestamp deadline) {
  if (!http_) return;
  http_->pairer.expire(deadline);
  if (http_->h2) http_->h2->expire(Timestamp{deadline.micros + response_timeout_us()});
}

bool Connection::detect_http2(Side side, std::uint64_t offset, ByteView data) {
  if (http_->h2) return true;
  const bool from_client = side == *client_;
  Direction& d = dirs_[static_cast<std::size_t>(side)];
  if (offset != 0 || !d.syn_seen) {
    // A direction whose start was seen and was not HTTP/2 is not searched for frames.
    return !d.start_delivered && pick_up_http2(from_client, offset, data);
  }
  if (from_client ? !looks_like_client_preface(data) : !looks_like_server_settings(data)) {
    d.start_delivered = true;
    return false;
  }
  // Only while neither HTTP/1.x parser has read a byte.
  if (http_->request_parser.stream_bytes() != 0 || http_->response_parser.stream_bytes() != 0) {
    return false;
  }
  start_http2();
  return true;
}

// A direction seen without its start (picked up mid-stream, or its first bytes lost) is
// HTTP/2 when chained frame headers say so (http2/frame_sync.hpp), while neither HTTP/1.x
// parser found a message and for its first kPickUpProbeBytes only (a bounded scan).
bool Connection::pick_up_http2(bool from_client, std::uint64_t offset, ByteView data) {
  constexpr std::uint64_t kPickUpProbeBytes = 65536;
  const HttpParser& req = http_->request_parser;
  const HttpParser& resp = http_->response_parser;
  if (offset >= kPickUpProbeBytes || req.began_http() || resp.began_http()) return false;
  const http2::BoundarySearch found = http2::find_frame_boundary(data, from_client);
  if (!found.found) return false;
  if (roles_guessed_) {
    // Requests and responses must not be read the wrong way round: wait for frames that
    // show who sent them.
    const http2::Sender by = http2::frames_sender(data, found.keep_from);
    if (by == http2::Sender::Unknown) return false;
    if ((by == http2::Sender::Client) != from_client) {
      client_ = other(*client_);
      http_->pairer.set_endpoints(key_.endpoint(*client_), key_.endpoint(other(*client_)));
    }
  }
  const std::uint64_t unparsed = req.stream_bytes() + resp.stream_bytes();
  start_http2();
  http_->h2->pick_up(unparsed);
  return true;
}

void Connection::start_http2() {
  http2::Http2Limits l;
  l.max_body = limits_.max_body;
  l.max_header_bytes = limits_.max_header_bytes;
  l.budget = limits_.budget;
  l.response_timeout_us = response_timeout_us();
  http_->h2 = std::make_unique<http2::Http2Session>(l, out_);
  http_->h2->set_context(key_.endpoint(*client_), key_.endpoint(other(*client_)),
                         connection_id(key_, start_), start_);
  http_->h2->set_first_index(http_->pairer.next_index());
  if (mid_stream_) http_->h2->add_anomaly(anomaly::kMidStream);
  roles_guessed_ = false;
}

void Connection::attach_tunnel_handlers() {
  http_->request_parser.set_tunnel_handler(&handlers_[static_cast<std::size_t>(*client_)]);
  http_->response_parser.set_tunnel_handler(
      &handlers_[static_cast<std::size_t>(other(*client_))]);
}

bool Connection::DirectionHandler::on_tunnel_data(ByteView data, Timestamp ts) {
  auto& http = *conn_.http_;
  if (!http.h2) {
    Pairer::H2cUpgrade up;
    if (!http.pairer.take_h2c_upgrade(up)) return false;  // not h2c: a tunnel
    conn_.start_http2();  // after the take: stream 1 gets the index the 101 had
    http.h2->adopt_upgrade_request(std::move(up.request), std::move(up.interim), up.anomalies);
  }
  http.h2->on_data(side_ == *conn_.client_, data, ts);
  return true;
}

void Connection::DirectionHandler::on_data(std::uint64_t offset, ByteView data, Timestamp ts) {
  if (conn_.detect_http2(side_, offset, data)) {
    conn_.http_->h2->on_data(side_ == *conn_.client_, data, ts);
    return;
  }
  conn_.parser(side_).feed(offset, data, ts);
  if (conn_.roles_guessed_) conn_.settle_roles(side_, ts);
}

void Connection::DirectionHandler::on_gap(std::uint64_t offset, std::uint64_t length,
                                          Timestamp ts) {
  if (conn_.http_->h2) {
    conn_.http_->h2->on_gap(side_ == *conn_.client_, length, ts);
    return;
  }
  HttpParser& parser = conn_.parser(side_);
  const std::uint64_t filled = parser.counters().gap_filled_bytes;
  parser.gap(length, ts);
  // Unless parsing went on through a body, message starts may have been lost in the gap.
  const bool in_body = parser.counters().gap_filled_bytes - filled == length;
  const MessageKind kind = side_ == *conn_.client_ ? MessageKind::Request : MessageKind::Response;
  conn_.http_->pairer.on_stream_gap(kind, offset, !in_body);
}

}  // namespace offpath
