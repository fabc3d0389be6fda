#include "http2/session.hpp"

#include <algorithm>

#include "http2/grpc.hpp"

namespace offpath::http2 {

namespace {

// Fills one message from a header block: pseudo-headers to the start-line fields,
// :authority to a host header, the rest to the header list (bounded).
class HeaderCollector final : public HeaderSink {
 public:
  HeaderCollector(HttpMessage* msg, std::uint32_t max_header_bytes)
      : msg_(msg), max_(max_header_bytes) {}
  void on_header(std::string_view name, std::string_view value) override {
    if (msg_ == nullptr) return;
    msg_->header_bytes += name.size() + value.size();
    if (name == ":method") {
      msg_->method.assign(value);
    } else if (name == ":path") {
      msg_->uri.assign(value);
    } else if (name == ":status") {
      int v = 0;
      for (char c : value) v = (c >= '0' && c <= '9' && v < 1000) ? v * 10 + (c - '0') : 1000;
      msg_->status = v < 1000 ? v : 0;
    } else if (name == ":authority") {
      if (msg_->header("host") == nullptr) keep("host", value);
    } else if (!name.empty() && name[0] != ':') {
      keep(name, value);
    }
  }

 private:
  void keep(std::string_view name, std::string_view value) {
    if (kept_ + name.size() + value.size() > max_ ||
        msg_->header_bytes > max_ + max_) {
      msg_->headers_truncated = true;
      return;
    }
    kept_ += name.size() + value.size();
    msg_->headers.push_back(HttpHeader{std::string(name), std::string(value)});
  }
  HttpMessage* msg_;
  std::uint32_t max_;
  std::uint64_t kept_ = 0;
};

}  // namespace

std::string error_code_name(std::uint32_t code) {
  static constexpr std::string_view kNames[] = {
      "NO_ERROR",        "PROTOCOL_ERROR", "INTERNAL_ERROR",     "FLOW_CONTROL_ERROR",
      "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",   "REFUSED_STREAM",
      "CANCEL",          "COMPRESSION_ERROR", "CONNECT_ERROR",   "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  if (code < std::size(kNames)) return std::string(kNames[code]);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s.push_back(kHex[(code >> shift) & 0xf]);
  return s;
}

Http2Session::Http2Session(const Http2Limits& limits, ExchangeHandler& out)
    : limits_(limits),
      out_(out),
      dirs_{Direction(true, limits.max_frame_bytes), Direction(false, limits.max_frame_bytes)} {
  counters_.connections = 1;
  // A DATA frame's bytes beyond what a body keeps are counted, not buffered (the
  // pad-length byte comes first).
  for (auto& d : dirs_) d.reader.set_max_data_payload(limits.max_body + 1);
}

void Http2Session::set_context(const Endpoint& client, const Endpoint& server,
                               std::uint64_t connection_id, Timestamp connection_start) {
  client_ = client;
  server_ = server;
  connection_id_ = connection_id;
  connection_start_ = connection_start;
}

void Http2Session::adopt_upgrade_request(std::optional<HttpMessage>&& request,
                                         std::vector<int> interim, std::uint32_t anomalies) {
  ++counters_.upgrades;
  Stream* s = open(1);
  if (s == nullptr) return;
  s->ex.interim_statuses = std::move(interim);
  s->ex.anomalies |= anomalies;
  s->request_seen = true;
  s->request_ended = true;  // the HTTP/1.1 request was the whole of stream 1's request
  if (!request) return;
  s->ex.request = std::move(request);
  const HttpMessage& r = *s->ex.request;
  s->request_done = r.last_byte.micros != 0 ? r.last_byte : r.first_byte;
  if (awaits_response(*s)) schedule(s->request_done.micros + limits_.response_timeout_us);
}

std::int64_t Http2Session::state_bytes() const {
  std::int64_t n = offpath::heap_bytes(sizeof(Http2Session));
  for (const auto& d : dirs_) n += d.reader.heap_bytes() + d.hpack.heap_bytes();
  return n;
}

std::int64_t Http2Session::streams_bytes() const {
  std::int64_t n = static_cast<std::int64_t>(streams_.capacity() * sizeof(Stream));
  for (const auto& s : streams_) {
    if (s.ex.request) n += s.ex.request->heap_bytes();
    if (s.ex.response) n += s.ex.response->heap_bytes();
  }
  return n;
}

void Http2Session::add_anomaly(std::uint32_t bits) {
  base_anomalies_ |= bits;
  for (auto& s : streams_) s.ex.anomalies |= bits;
}

void Http2Session::pick_up(std::uint64_t unparsed) {
  add_anomaly(anomaly::kMidStream);
  unseen_anomalies_ |= anomaly::kMidStream;
  ++counters_.picked_up;
  counters_.skipped_bytes += unparsed;
  for (auto& d : dirs_) {
    d.reader.start_sync();
    d.hpack.desync();
  }
}

void Http2Session::count_reader(Direction& d, std::uint64_t skipped_before,
                                std::uint64_t resyncs_before) {
  counters_.skipped_bytes += d.reader.skipped_bytes() - skipped_before;
  counters_.resyncs += d.reader.resyncs() - resyncs_before;
}

void Http2Session::on_data(bool from_client, ByteView bytes, Timestamp ts) {
  expire(ts);  // what is overdue at this packet's time, before what it brings
  from_client_ = from_client;
  auto& d = dirs_[from_client ? 0 : 1];
  const auto skipped = d.reader.skipped_bytes();
  const auto resyncs = d.reader.resyncs();
  d.reader.feed(bytes, ts, *this);
  count_reader(d, skipped, resyncs);
  if (d.reader.state() == ReaderState::Lost) d.hpack.desync();
}

void Http2Session::on_gap(bool from_client, std::uint64_t length, Timestamp ts) {
  expire(ts);
  auto& d = dirs_[from_client ? 0 : 1];
  from_client_ = from_client;
  const auto skipped = d.reader.skipped_bytes();
  const auto resyncs = d.reader.resyncs();
  const bool framed = d.reader.on_gap(length, ts, *this);
  count_reader(d, skipped, resyncs);
  if (framed) return;  // inside a DATA frame: body_missing of its stream
  // The reader searches the next frame boundary; what the gap held is unknown.
  d.hpack.desync();
  unseen_anomalies_ |= anomaly::kGap;
  for (auto& s : streams_) {
    s.ex.anomalies |= anomaly::kGap;
    const bool ended = from_client ? s.request_ended : s.response_ended;
    auto& slot = from_client ? s.ex.request : s.ex.response;
    if (!ended && slot) slot->gap = true;
  }
}

void Http2Session::finish(Outcome why) {
  while (!streams_.empty()) emit(streams_.size() - 1, why);
}

bool Http2Session::awaits_response(const Stream& s) const {
  return limits_.response_timeout_us > 0 && !s.reset_by_client && s.ex.request &&
         s.ex.request->complete && !s.ex.response;
}

void Http2Session::expire(Timestamp now) {
  if (now.micros < next_check_) return;
  next_check_ = std::numeric_limits<std::int64_t>::max();
  // Backwards: emit() moves the last stream into the emptied slot, one already seen.
  for (std::size_t i = streams_.size(); i-- > 0;) {
    const Stream& s = streams_[i];
    std::int64_t due = 0;
    if (s.reset_by_client) {
      due = s.reset_at.micros + kResetDrainMicros;
    } else if (awaits_response(s)) {
      due = s.request_done.micros + limits_.response_timeout_us;
    } else {
      continue;
    }
    if (now.micros < due) {
      schedule(due);
    } else if (s.reset_by_client) {
      emit(i, Outcome::StreamReset);
    } else {
      remember_timed_out(s.id);
      emit(i, Outcome::Timeout);
    }
  }
}

void Http2Session::remember_timed_out(std::uint32_t id) {
  timed_out_[timed_out_next_] = id;
  timed_out_next_ = (timed_out_next_ + 1) % timed_out_.size();
}

bool Http2Session::take_timed_out(std::uint32_t id) {
  for (auto& t : timed_out_) {
    if (t == id && id != 0) {
      t = 0;
      return true;
    }
  }
  return false;
}

Http2Session::Stream* Http2Session::find(std::uint32_t id) {
  for (auto& s : streams_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

Http2Session::Stream* Http2Session::open(std::uint32_t id) {
  if (streams_.size() >= limits_.max_streams) {
    highest_stream_ = std::max(highest_stream_, id);
    ++counters_.streams_dropped;
    return nullptr;
  }
  highest_stream_ = std::max(highest_stream_, id);
  Stream& s = streams_.emplace_back();
  s.id = id;
  s.index = next_index_++;
  s.ex.client = client_;
  s.ex.server = server_;
  s.ex.connection_id = connection_id_;
  s.ex.connection_start = connection_start_;
  s.ex.index = s.index;
  s.ex.anomalies = base_anomalies_;
  s.keep_body = limits_.max_body != 0 &&
                !(limits_.budget != nullptr && limits_.budget->level() >= kShedBodies);
  return &s;
}

Http2Session::Stream* Http2Session::open_unseen(std::uint32_t id) {
  if (unseen_anomalies_ == 0 || id % 2 == 0 || from_client_) return nullptr;
  // A stream emitted moments ago (a reset) may still get the frames its peer had sent.
  if (std::find(emitted_.begin(), emitted_.end(), id) != emitted_.end()) return nullptr;
  Stream* s = open(id);
  if (s != nullptr) s->ex.anomalies |= unseen_anomalies_;
  return s;
}

HttpMessage& Http2Session::message(Stream& s, bool from_client) {
  auto& slot = from_client ? s.ex.request : s.ex.response;
  if (!slot) {
    slot.emplace();
    slot->kind = from_client ? MessageKind::Request : MessageKind::Response;
    slot->version_major = 2;
    slot->version_minor = 0;
  }
  return *slot;
}

void Http2Session::on_frame(const Frame& f) {
  ++counters_.frames;
  auto& d = dirs_[from_client_ ? 0 : 1];
  // A header block in progress must go on with CONTINUATION frames of its stream.
  if (d.block_stream != 0 &&
      (f.type != static_cast<std::uint8_t>(FrameType::Continuation) ||
       f.stream_id != d.block_stream)) {
    d.hpack.abandon_block();
    d.block_stream = 0;
  }
  switch (static_cast<FrameType>(f.type)) {
    case FrameType::Headers: on_headers(f, true); break;
    case FrameType::Continuation:
      if (d.block_stream == f.stream_id && f.stream_id != 0) on_headers(f, false);
      break;
    case FrameType::PushPromise: {
      // The promised stream's headers are decoded to keep the HPACK state; pushed
      // streams are not recorded.
      if (f.truncated || f.payload.size() < 4) {
        d.hpack.desync();
        ++counters_.hpack_errors;
        break;
      }
      HeaderCollector discard(nullptr, 0);
      const bool last = (f.flags & flag::kEndHeaders) != 0;
      if (!d.hpack.decode(f.payload.subspan(4), last, discard)) ++counters_.hpack_errors;
      d.block_stream = last ? 0 : f.stream_id;
      d.block_discard = !last;
      break;
    }
    case FrameType::Data: on_data_frame(f); break;
    case FrameType::RstStream: on_rst_stream(f); break;
    case FrameType::Settings: on_settings(f); break;
    case FrameType::GoAway: on_goaway(f); break;
    case FrameType::Priority:
    case FrameType::Ping:
    case FrameType::WindowUpdate:
      break;
  }
}

void Http2Session::on_headers(const Frame& f, bool first_fragment) {
  auto& d = dirs_[from_client_ ? 0 : 1];
  const bool last = (f.flags & flag::kEndHeaders) != 0;
  Stream* s = nullptr;
  if (!(first_fragment ? false : d.block_discard)) {
    s = find(f.stream_id);
    // A stream id not above the highest seen is one already emitted (reset or timed
    // out): ignored, unless a gap or the pick-up may have hidden its start.
    if (s == nullptr && first_fragment) {
      if (f.stream_id > highest_stream_) {
        s = open(f.stream_id);
        if (s != nullptr) {
          s->request_seen = from_client_;
          if (!from_client_) s->ex.anomalies |= unseen_anomalies_;  // its request unseen
        }
      } else if (!from_client_ && take_timed_out(f.stream_id)) {
        ++late_responses_;  // the stream was emitted as timed out: this answer is dropped
      } else {
        s = open_unseen(f.stream_id);
      }
    }
  }
  HttpMessage* msg = nullptr;
  if (s != nullptr) {
    msg = &message(*s, from_client_);
    if (first_fragment) {
      if (msg->first_byte.micros == 0) msg->first_byte = f.ts;
      msg->last_byte = f.ts;
    }
  }
  if (first_fragment) {
    d.block_discard = s == nullptr;
    if (f.flags & flag::kEndStream) {
      // Remembered until the block ends (END_STREAM applies to the stream).
      if (s != nullptr) {
        if (from_client_) s->request_ended = true; else s->response_ended = true;
      }
    }
  }
  if (first_fragment) {
    d.block_bytes = 0;
    d.block_failed = false;
  }
  d.block_bytes += f.payload.size();
  if (d.block_bytes > limits_.max_header_block) d.hpack.desync();
  HeaderCollector sink(msg, limits_.max_header_bytes);
  bool ok = d.hpack.decode(f.payload, last, sink);
  if (f.truncated) {
    d.hpack.desync();  // what the frame held beyond its first bytes is lost
    ok = false;
  }
  d.block_stream = last ? 0 : f.stream_id;
  if (!ok) {
    if (s != nullptr) s->ex.anomalies |= anomaly::kHpackDesync;
    if (!d.block_failed) ++counters_.hpack_errors;
    d.block_failed = true;
  }
  if (s == nullptr || !last) return;
  msg->headers_end = f.ts;
  msg->headers_complete = true;
  if (!from_client_ && msg->status >= 100 && msg->status < 200 && !s->response_ended) {
    s->ex.interim_statuses.push_back(msg->status);
    s->ex.response.reset();  // the final response has yet to begin
    if (awaits_response(*s)) schedule(s->request_done.micros + limits_.response_timeout_us);
    return;
  }
  const bool ended = from_client_ ? s->request_ended : s->response_ended;
  if (ended) end_message(*s, from_client_, f.ts);
}

void Http2Session::on_data_frame(const Frame& f) {
  Stream* s = find(f.stream_id);
  if (s == nullptr) s = open_unseen(f.stream_id);
  if (s == nullptr) return;
  HttpMessage& m = message(*s, from_client_);
  if (m.first_byte.micros == 0) m.first_byte = f.ts;
  m.last_byte = f.ts;
  m.body_size += f.data_bytes;
  // The kept body is the body's first bytes: nothing after a gap in it.
  if (s->keep_body && m.body_missing == 0 && m.body.size() < limits_.max_body) {
    const std::size_t room = limits_.max_body - m.body.size();
    const auto n = std::min(room, f.payload.size());
    m.body.append(reinterpret_cast<const char*>(f.payload.data()), n);
  }
  if (f.missing != 0) {
    m.body_missing += f.missing;
    m.gap = true;
    s->ex.anomalies |= anomaly::kGap;
  }
  m.body_truncated = m.body_size > m.body.size();
  if (f.flags & flag::kEndStream) {
    if (from_client_) s->request_ended = true; else s->response_ended = true;
    end_message(*s, from_client_, f.ts);
  }
}

void Http2Session::end_message(Stream& s, bool from_client, Timestamp ts) {
  HttpMessage& m = message(s, from_client);
  m.complete = true;
  m.last_byte = ts;
  const auto pos = static_cast<std::size_t>(&s - streams_.data());
  if (s.reset_by_client && s.response_ended) {
    emit(pos, Outcome::StreamReset);  // the server's answer to a call already cancelled
  } else if (s.response_ended && (s.request_ended || !s.request_seen)) {
    // (A stream whose request was not seen, begun before a pick-up or a gap, ends with
    // its response.)
    emit(pos, Outcome::Complete);
  } else if (from_client) {
    s.request_done = ts;
    if (awaits_response(s)) schedule(ts.micros + limits_.response_timeout_us);
  }
}

void Http2Session::on_rst_stream(const Frame& f) {
  ++counters_.resets;
  Stream* s = find(f.stream_id);
  if (s == nullptr) return;
  const auto pos = static_cast<std::size_t>(s - streams_.data());
  // The server ends a stream the client reset (the first reset's code is the record's).
  if (s->reset_by_client) {
    if (!from_client_) emit(pos, Outcome::StreamReset);
    return;
  }
  const std::uint32_t code = f.payload.size() >= 4 ? load_be32(f.payload.data()) : 0;
  s->ex.error_detail = "RST_STREAM " + error_code_name(code) +
                       (from_client_ ? " from client" : " from server");
  // A server may answer in full and then reset the request it no longer needs (NO_ERROR).
  if (s->response_ended) {
    emit(pos, Outcome::Complete);
  } else if (from_client_) {
    // The server's frames sent before it received the reset are still to come.
    s->reset_by_client = true;
    s->reset_at = f.ts;
    schedule(f.ts.micros + kResetDrainMicros);
  } else {
    emit(pos, Outcome::StreamReset);
  }
}

void Http2Session::on_goaway(const Frame& f) {
  ++counters_.goaways;
  if (f.payload.size() < 8) return;
  const std::uint32_t last_id = load_be32(f.payload.data()) & 0x7fffffffu;
  const std::uint32_t code = load_be32(f.payload.data() + 4);
  if (from_client_) return;  // streams the client would serve: none (no server push kept)
  for (std::size_t i = streams_.size(); i-- > 0;) {
    if (streams_[i].id > last_id && streams_[i].id % 2 == 1) {
      streams_[i].ex.error_detail = "GOAWAY " + error_code_name(code);
      emit(i, Outcome::GoAway);
    }
  }
}

void Http2Session::on_settings(const Frame& f) {
  if ((f.flags & flag::kAck) || f.stream_id != 0) return;
  // The table size a side announces bounds the blocks its peer encodes.
  auto& peer = dirs_[from_client_ ? 1 : 0];
  for (std::size_t i = 0; i + 6 <= f.payload.size(); i += 6) {
    const std::uint16_t id = load_be16(f.payload.data() + i);
    const std::uint32_t value = load_be32(f.payload.data() + i + 2);
    if (id == 0x1) peer.hpack.set_max_table_size(value);
  }
}

void Http2Session::emit(std::size_t pos, Outcome outcome) {
  Stream& s = streams_[pos];
  Exchange ex = std::move(s.ex);
  emitted_[emitted_next_] = s.id;
  emitted_next_ = (emitted_next_ + 1) % emitted_.size();
  // Begun out of sight: what the client sent of it is not a request (trailers, DATA).
  if (!s.request_seen) {
    ex.request.reset();
    if (outcome == Outcome::Complete) outcome = Outcome::OrphanResponse;
  }
  ex.outcome = s.reset_by_client ? Outcome::StreamReset : outcome;
  if (ex.request && !ex.request->complete) ex.anomalies |= anomaly::kRequestIncomplete;
  if (ex.response && !ex.response->complete) ex.anomalies |= anomaly::kResponseIncomplete;
  for (auto* m : {&ex.request, &ex.response}) {
    if (*m && (*m)->headers_truncated) ex.anomalies |= anomaly::kHeadersTruncated;
  }
  fill_grpc(ex);
  if (ex.grpc && ex.grpc->status < 0 && ex.response) {
    ex.anomalies |= anomaly::kResponseIncomplete;  // gRPC response without trailers
  }
  if (pos + 1 != streams_.size()) streams_[pos] = std::move(streams_.back());
  streams_.pop_back();
  ++counters_.streams;
  out_.on_exchange(std::move(ex));
}

}  // namespace offpath::http2
