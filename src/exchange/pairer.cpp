#include "exchange/pairer.hpp"

#include "common/memory_budget.hpp"

namespace offpath {
namespace {

std::uint32_t message_anomalies(const HttpMessage& m) {
  std::uint32_t a = 0;
  if (m.gap) a |= anomaly::kGap;
  if (m.headers_truncated) a |= anomaly::kHeadersTruncated;
  if (m.uri_truncated) a |= anomaly::kUriTruncated;
  if (m.ambiguous_length) a |= anomaly::kAmbiguousLength;
  return a;
}

}  // namespace

void Pairer::add_anomaly(std::uint32_t bits) {
  shared_anomalies_ |= bits;
  for (auto& p : pending_) p.anomalies |= bits;
}

void Pairer::mark_open(std::uint32_t bits) {
  for (auto& p : pending_) p.anomalies |= bits;
  if (orphan_) orphan_->anomalies |= bits;
}

std::int64_t Pairer::heap_bytes() const {
  // Walked again only after an entry point that may have changed it: the walk touches
  // every open exchange, which would cost a cache miss per segment.
  if (!held_changed_) return held_bytes_;
  held_changed_ = false;
  // libstdc++'s deque: a map of 8 block pointers and one block at construction; a
  // Pending is larger than a block's 512 bytes, so each block holds one, and the block
  // after the last element is always allocated.
  constexpr std::size_t kMapBytes = 8 * sizeof(void*);
  const std::int64_t block = offpath::heap_bytes(sizeof(Pending));
  std::int64_t n = offpath::heap_bytes(kMapBytes) +
                   block * static_cast<std::int64_t>(pending_.size() + 1);
  auto held = [](const Pending& p) {
    std::int64_t b = offpath::heap_bytes(p.method) + offpath::heap_bytes(p.detail) +
                     offpath::heap_bytes(p.interim.capacity() * sizeof(int));
    if (p.request) b += p.request->heap_bytes();
    if (p.response) b += p.response->heap_bytes();
    return b;
  };
  for (const auto& p : pending_) n += held(p);
  if (orphan_) n += held(*orphan_);
  held_bytes_ = n;
  return n;
}

Pairer::Pending* Pairer::response_candidate() {
  for (auto& p : pending_) {
    if (!p.response_started) {
      if (p.timed_out) continue;  // its late response is handled by the caller
      return &p;
    }
  }
  return nullptr;
}

Pairer::Pending* Pairer::next_candidate(const Pending& p) {
  bool after = false;
  for (auto& q : pending_) {
    if (&q == &p) {
      after = true;
    } else if (after && !q.response_started && !q.timed_out) {
      return &q;
    }
  }
  return nullptr;
}

void Pairer::on_stream_gap(MessageKind kind, std::uint64_t offset, bool may_hide_messages) {
  if (!may_hide_messages) return;
  unmarked_loss_ = true;  // until a record says so (below, or an orphan, or a skip)
  if (kind == MessageKind::Request) {
    client_gap_ = true;
    for (auto& p : pending_) {
      if (p.request_done && !p.has_lost_after && &p != request_target_) {
        p.lost_after = offset;
        p.has_lost_after = true;
      }
    }
    return;
  }
  server_gap_ = true;
  for (auto& p : pending_) {
    if (p.response_started || p.timed_out) continue;
    p.response_may_be_lost = true;
    p.anomalies |= anomaly::kGap;
    unmarked_loss_ = false;
  }
}

void Pairer::responses_may_be_lost() {
  server_gap_ = true;
  for (auto& p : pending_) {
    if (!p.response_started && !p.timed_out) p.response_may_be_lost = true;
  }
}

// Whether p's response was lost in a gap, so that the response `msg` answers a later one.
bool Pairer::response_lost_before(Pending& p, const HttpMessage& msg) {
  // The server had received bytes after p that the capture lost (a request) before it
  // began this response: it answers that request, p was answered (unseen) before it.
  if (p.has_lost_after && have_response_ack_ && p.lost_after < response_ack_) return true;
  if (!p.response_may_be_lost && !server_gap_) return false;
  // Responses were lost since the last one. The server had the next request when it
  // began this response...
  const Pending* next = next_candidate(p);
  if (next == nullptr || !have_response_ack_ || next->request_offset >= response_ack_) {
    return false;
  }
  if (p.client_ack_known && next->client_ack_known) {
    // ...sent after the client had read more of the server's stream than when it sent p
    // (p's response, lost) and before this response began. Equal: pipelined, in order.
    return next->client_ack > p.client_ack && next->client_ack <= msg.stream_offset;
  }
  return true;  // no better evidence: one request at a time, as nearly all clients send
}

Pairer::Pending* Pairer::choose_response_target(const HttpMessage& msg) {
  Pending* target = response_candidate();
  bool lost = false;
  while (target != nullptr && response_lost_before(*target, msg)) {
    target->anomalies |= anomaly::kGap;
    target->response_started = true;  // answered, the answer lost: emitted without one
    target->response_done = true;
    lost = true;
    unmarked_loss_ = false;
    target = response_candidate();
  }
  if (lost) emit_ready();  // in order, before this response's exchange
  server_gap_ = false;
  if (target != nullptr && have_response_ack_ && target->request_offset >= response_ack_) {
    return nullptr;  // the server had not received this request yet: its request was lost
  }
  return target;
}

Pairer::Pending& Pairer::start_orphan() {
  orphan_.emplace();
  orphan_->orphan = true;
  orphan_->anomalies = ctx_.base_anomalies | shared_anomalies_;
  if (client_gap_ || unmarked_loss_) {
    orphan_->anomalies |= anomaly::kGap;  // its request may be in the gap
    unmarked_loss_ = false;
  }
  orphan_->response_started = true;
  return *orphan_;
}

void Pairer::on_message_begin(MessageKind kind, HttpMessage& msg) {
  held_changed_ = true;
  if (kind == MessageKind::Request) {
    Pending p;
    p.request_offset = msg.stream_offset;
    p.request_start = msg.first_byte;
    p.client_ack = client_ack_;
    p.client_ack_known = client_ack_known_;
    p.anomalies = ctx_.base_anomalies | shared_anomalies_;
    if (unmarked_loss_) {
      // Whole exchanges were lost before this one and no record says so yet: this does.
      p.anomalies |= anomaly::kGap;
      unmarked_loss_ = false;
    }
    pending_.push_back(std::move(p));
    request_target_ = &pending_.back();
    return;
  }
  // The server's acknowledgement when the response began says which requests it had.
  response_ack_ = server_ack_;
  have_response_ack_ = have_server_ack_;
}

BodyMode Pairer::on_headers_complete(MessageKind kind, HttpMessage& msg) {
  held_changed_ = true;
  if (kind == MessageKind::Request) {
    if (request_target_ != nullptr) {
      request_target_->method = msg.method;
      request_target_->request_offset = msg.stream_offset;
      request_target_->wants_upgrade = msg.upgrade;
    }
    return BodyMode::Normal;
  }
  const int status = msg.status;
  // A late answer to a request already emitted as timed out: consume the placeholder.
  if (!pending_.empty() && pending_.front().timed_out && !pending_.front().response_started) {
    Pending& front = pending_.front();
    if (status >= 200 || status == 101) {
      front.response_started = true;
      ++late_responses_;
      response_target_ = &front;
      interim_in_progress_ = false;
      return front.method == "HEAD" ? BodyMode::NoBody : BodyMode::Normal;
    }
    interim_in_progress_ = true;
    return BodyMode::Normal;
  }
  Pending* target = choose_response_target(msg);
  if (target == nullptr) {
    interim_in_progress_ = status >= 100 && status < 200 && status != 101;
    if (!interim_in_progress_) response_target_ = &start_orphan();
    return status == 101 ? BodyMode::Upgrade : BodyMode::Normal;
  }
  if (status >= 100 && status < 200 && status != 101) {
    target->interim.push_back(status);
    interim_in_progress_ = true;
    return BodyMode::Normal;
  }
  interim_in_progress_ = false;
  target->response_started = true;
  response_target_ = target;
  const bool connect_ok = target->method == "CONNECT" && status >= 200 && status < 300;
  if (status == 101 || connect_ok) {
    const std::string* proto = msg.header("upgrade");
    if (status == 101 && proto != nullptr && proto->size() == 3 &&
        (((*proto)[0] | 0x20) == 'h') && (*proto)[1] == '2' && (((*proto)[2] | 0x20) == 'c')) {
      target->h2c = true;
      target->interim.push_back(101);
    }
    if (request_parser_ != nullptr) request_parser_->resolve_upgrade(true, msg.headers_end);
    target->anomalies |= anomaly::kUpgraded;
    return BodyMode::Upgrade;
  }
  if ((target->wants_upgrade || target->method == "CONNECT") && request_parser_ != nullptr) {
    request_parser_->resolve_upgrade(false, msg.headers_end);
  }
  if (target->method == "HEAD") return BodyMode::NoBody;
  return BodyMode::Normal;
}

void Pairer::on_message_complete(MessageKind kind, HttpMessage&& msg) {
  held_changed_ = true;
  if (kind == MessageKind::Request) {
    if (request_target_ != nullptr) {
      request_target_->anomalies |= message_anomalies(msg);
      request_target_->request = std::move(msg);
      request_target_->request_done = true;
      request_target_ = nullptr;
    }
    emit_ready();
    return;
  }
  if (interim_in_progress_) {
    interim_in_progress_ = false;
    return;
  }
  Pending* target = response_target_;
  response_target_ = nullptr;
  if (target == nullptr) return;
  target->anomalies |= message_anomalies(msg);
  target->response = std::move(msg);
  target->response_done = true;
  if (target->orphan) {
    emit(*target, Outcome::OrphanResponse);
    orphan_.reset();
    return;
  }
  emit_ready();
}

void Pairer::on_message_aborted(MessageKind kind, HttpMessage&& msg, AbortReason reason,
                                std::string_view detail) {
  held_changed_ = true;
  std::uint32_t extra = message_anomalies(msg);
  if (kind == MessageKind::Request) {
    Pending* target = request_target_;
    if (target == nullptr) {
      pending_.emplace_back();
      target = &pending_.back();
      target->anomalies = ctx_.base_anomalies | shared_anomalies_;
    }
    target->anomalies |= extra | anomaly::kRequestIncomplete;
    if (reason == AbortReason::ParseError) {
      target->forced = Outcome::ParseError;
      target->detail = std::string(detail);
    }
    if (target->method.empty()) target->method = msg.method;
    target->request_offset = msg.stream_offset;
    target->request = std::move(msg);
    target->request_done = true;
    request_target_ = nullptr;
    emit_ready();
    return;
  }
  // Response side.
  if (interim_in_progress_) {
    interim_in_progress_ = false;
    return;
  }
  Pending* target = response_target_;
  response_target_ = nullptr;
  if (target == nullptr) {
    // Aborted before its header block completed: it still answers a request.
    target = choose_response_target(msg);
    if (target == nullptr) target = &start_orphan();
    target->response_started = true;
  }
  target->anomalies |= extra | anomaly::kResponseIncomplete;
  if (reason == AbortReason::ParseError) {
    target->forced = Outcome::ParseError;
    target->detail = std::string(detail);
  }
  target->response = std::move(msg);
  target->response_done = true;
  if (target->orphan) {
    emit(*target, target->forced.value_or(Outcome::OrphanResponse));
    orphan_.reset();
    return;
  }
  // A response cut by the end of the stream is emitted by close(), with the reason.
  if (reason != AbortReason::EndOfStream) emit_ready();
}

void Pairer::emit_ready() {
  while (!pending_.empty()) {
    Pending& front = pending_.front();
    if (front.timed_out) {
      if (!front.response_started || !front.response_done) break;
      pending_.pop_front();  // late response consumed
      continue;
    }
    if (front.h2c_taken) {
      if (!front.response_done) break;
      pending_.pop_front();  // stream 1 of the HTTP/2 connection has its request
      h2c_taken_ = false;
      continue;
    }
    if (front.h2c && front.response_done) break;  // until HTTP/2 takes it, or close()
    if (!(front.request_done && front.response_done)) break;
    if (front.response && !front.response->complete && !front.forced &&
        (front.anomalies & anomaly::kGap) == 0) {
      break;  // cut by the end of the stream: close() gives the reason
    }
    emit(front, Outcome::Complete);
    pending_.pop_front();
  }
}

void Pairer::emit(Pending& p, Outcome outcome) {
  if (!p.request && !p.response) return;  // nothing seen: no record
  Exchange ex;
  ex.client = ctx_.client;
  ex.server = ctx_.server;
  ex.connection_id = ctx_.connection_id;
  ex.connection_start = ctx_.connection_start;
  ex.index = next_index_++;
  if (p.forced) outcome = *p.forced;
  ex.outcome = outcome;
  ex.error_detail = std::move(p.detail);
  ex.anomalies = p.anomalies;
  ex.interim_statuses = std::move(p.interim);
  if (p.request) {
    if (!p.request->complete) ex.anomalies |= anomaly::kRequestIncomplete;
    ex.request = std::move(p.request);
  }
  if (p.response) {
    if (!p.response->complete) ex.anomalies |= anomaly::kResponseIncomplete;
    // A status line whose header block the stream ended inside (a reset, a close, the
    // capture's end) is no response, as for Wireshark and for a gateway reading it: the
    // exchange keeps its outcome and response_incomplete, not the status. A parse error
    // keeps what was read (error_detail says what broke).
    if (p.response->complete || p.response->headers_complete || p.forced) {
      ex.response = std::move(p.response);
    }
  }
  if (p.orphan && !ex.request && !ex.response) {
    return;  // nothing of it is left to record (a response cut in its status line)
  }
  if (p.orphan) ++orphans_;
  out_.on_exchange(std::move(ex));
}

void Pairer::close(Outcome why) {
  held_changed_ = true;
  if (orphan_) {
    emit(*orphan_, orphan_->forced.value_or(Outcome::OrphanResponse));
    orphan_.reset();
  }
  for (auto& p : pending_) {
    if (p.timed_out || p.h2c_taken) continue;
    // An h2c 101 that no HTTP/2 byte followed: the 101 is the response after all.
    if (p.h2c && !p.interim.empty()) p.interim.pop_back();
    const bool answered = p.response_done && p.response && p.response->complete;
    emit(p, answered ? Outcome::Complete : why);
  }
  pending_.clear();
  h2c_taken_ = false;
  request_target_ = nullptr;
  response_target_ = nullptr;
}

void Pairer::expire(Timestamp deadline) {
  held_changed_ = true;
  for (auto& p : pending_) {
    if (p.timed_out || p.response_started) continue;
    if (p.request_start > deadline) break;
    if (!p.request) continue;  // still arriving: nothing to emit yet
    // Emit a copy of what was seen; keep a placeholder so that a late response is
    // consumed here instead of being paired with the next request.
    Pending copy;
    copy.request = p.request;
    copy.interim = p.interim;
    copy.anomalies = p.anomalies;
    copy.forced = p.forced;
    copy.detail = p.detail;
    emit(copy, Outcome::Timeout);
    p.timed_out = true;
  }
}

bool Pairer::take_h2c_upgrade(H2cUpgrade& up) {
  held_changed_ = true;
  for (auto& p : pending_) {
    if (!p.h2c || p.h2c_taken) continue;
    // Called from the parsers' tunnel bytes, maybe before the 101 completed: the entry
    // stays (a placeholder for the 101's end), emptied.
    p.h2c_taken = true;
    h2c_taken_ = true;
    up.request = std::move(p.request);
    p.request.reset();
    up.interim = std::move(p.interim);
    up.anomalies = p.anomalies & ~anomaly::kUpgraded;
    emit_ready();
    return true;
  }
  return false;
}

}  // namespace offpath
