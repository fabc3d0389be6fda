#include "pipeline/connection.hpp"

#include <algorithm>

namespace offpath {

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
      handlers_{DirectionHandler(*this, Side::Lo), DirectionHandler(*this, Side::Hi)} {}

bool Connection::is_new_handshake(Side sender, const Segment& seg) const {
  if (!seg.has(tcp_flags::kSyn) || seg.has(tcp_flags::kAck)) return false;
  if (finished_) return true;
  const Direction& d = dirs_[static_cast<std::size_t>(sender)];
  if (!d.syn_seen) return false;  // first SYN of a flow picked up mid-stream: keep it
  return d.isn != seg.seq;       // same ISN = SYN retry
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
  return c;
}

ConnectionCounters Connection::counters() const {
  ConnectionCounters c = http_ ? http_counters() : ended_http_;
  for (const auto& d : dirs_) {
    c.reassembly += d.reassembler.counters();
  }
  c.ack_gaps = ack_gaps_;
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
      }
    }
  }
  if (!d.parser_started) {
    d.parser_started = true;
    parser(side).start(d.syn_seen);
  }
}

void Connection::on_segment(Side sender, const Segment& seg) {
  if (finished_) return;
  Direction& d = dirs_[static_cast<std::size_t>(sender)];
  if (seg.has(tcp_flags::kSyn)) {
    if (!d.syn_seen) {
      d.syn_seen = true;
      d.isn = seg.seq;
    }
    decide_roles(sender, seg);
  }
  if (seg.has(tcp_flags::kRst)) {
    finish(Outcome::ConnectionReset, seg.ts);
    return;
  }
  if (!seg.payload.empty()) decide_roles(sender, seg);
  // The ACK first: a response's first segment acknowledges the request it answers.
  if (seg.has(tcp_flags::kAck) && client_) on_ack(sender, seg);
  if (!seg.payload.empty()) {
    // The sender acknowledged the peer's bytes and now answers: what it acknowledged must
    // be parsed before this answer, so a hole still open there is a gap now.
    age_ack_target(other(sender), seg.ts, true);
    start_direction(sender, seg);
    const std::uint64_t conflicts = d.reassembler.counters().overlap_conflicts;
    d.reassembler.add(seg.seq, seg.payload, seg.ts, handlers_[static_cast<std::size_t>(sender)]);
    if (d.reassembler.counters().overlap_conflicts != conflicts) {
      http_->pairer.mark_open(anomaly::kOverlapConflict);
    }
    if (finished_) return;
  }
  if (seg.has(tcp_flags::kFin) && client_ && !d.fin_seen) {
    if (!d.reassembler.started()) start_direction(sender, seg);
    d.fin_seen = true;
    std::int64_t off = d.reassembler.offset_of(seg.seq) + static_cast<std::int64_t>(seg.payload_len);
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
  if (sender != *client_ && http_) http_->pairer.set_server_ack(static_cast<std::uint64_t>(std::max<std::int64_t>(acked, 0)));
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
  if (!client_ || !http_) return;
  for (std::size_t i = 0; i < 2; ++i) {
    Direction& d = dirs_[i];
    if (!d.parser_started) continue;
    d.reassembler.flush(ts, handlers_[i]);
    parser(static_cast<Side>(i)).finish(ts);
  }
  http_->pairer.close(why);
  // Nothing is parsed or paired any more: keep the counters, give the memory back now
  // rather than when the finished connection leaves the table.
  ended_http_ = http_counters();
  http_.reset();
}

void Connection::expire_requests(Timestamp deadline) {
  if (http_) http_->pairer.expire(deadline);
}

void Connection::DirectionHandler::on_data(std::uint64_t offset, ByteView data, Timestamp ts) {
  conn_.parser(side_).feed(offset, data, ts);
}

void Connection::DirectionHandler::on_gap(std::uint64_t offset, std::uint64_t length,
                                          Timestamp ts) {
  (void)offset;
  conn_.parser(side_).gap(length, ts);
}

}  // namespace offpath
