#include "http/parser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace offpath {
namespace {

HttpParser& self(llhttp_t* p) { return *static_cast<HttpParser*>(p->data); }

const llhttp_settings_t& settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = [](llhttp_t* p) { return self(p).cb_message_begin(); };
    st.on_method = [](llhttp_t* p, const char* at, std::size_t n) {
      return self(p).cb_method(at, n);
    };
    st.on_url = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).cb_url(at, n); };
    st.on_status = [](llhttp_t* p, const char* at, std::size_t n) {
      return self(p).cb_status(at, n);
    };
    st.on_version = [](llhttp_t* p, const char* at, std::size_t n) {
      return self(p).cb_version(at, n);
    };
    st.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
      return self(p).cb_header_field(at, n);
    };
    st.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
      return self(p).cb_header_value(at, n);
    };
    st.on_header_value_complete = [](llhttp_t* p) { return self(p).cb_header_value_complete(); };
    st.on_headers_complete = [](llhttp_t* p) { return self(p).cb_headers_complete(); };
    st.on_body = [](llhttp_t* p, const char* at, std::size_t n) { return self(p).cb_body(at, n); };
    st.on_chunk_header = [](llhttp_t* p) { return self(p).cb_chunk_header(); };
    st.on_chunk_complete = [](llhttp_t* p) { return self(p).cb_chunk_complete(); };
    st.on_message_complete = [](llhttp_t* p) { return self(p).cb_message_complete(); };
    return st;
  }();
  return s;
}

// Methods whose appearance at a line start marks a request in Sync state.
constexpr std::array<std::string_view, 34> kMethods = {
    "GET",       "HEAD",       "POST",       "PUT",        "DELETE",   "CONNECT",
    "OPTIONS",   "TRACE",      "PATCH",      "PROPFIND",   "PROPPATCH", "MKCOL",
    "COPY",      "MOVE",       "LOCK",       "UNLOCK",     "SEARCH",   "REPORT",
    "MKACTIVITY", "CHECKOUT",  "MERGE",      "M-SEARCH",   "NOTIFY",   "SUBSCRIBE",
    "UNSUBSCRIBE", "PURGE",    "LINK",       "UNLINK",     "ACL",      "BIND",
    "REBIND",    "UNBIND",     "MKCALENDAR", "QUERY"};

enum class StartMatch { No, Yes, NeedMore };

StartMatch match_request_start(std::string_view s) {
  bool need_more = false;
  for (std::string_view m : kMethods) {
    std::size_t want = m.size() + 2;  // METHOD SP first-char-of-target
    std::size_t n = std::min(s.size(), want);
    std::string_view head = s.substr(0, std::min(n, m.size()));
    if (m.substr(0, head.size()) != head) continue;
    if (s.size() < want) {
      if (s.size() <= m.size() || s[m.size()] == ' ') need_more = true;
      continue;
    }
    if (s[m.size()] == ' ' && s[m.size() + 1] != ' ') return StartMatch::Yes;
  }
  return need_more ? StartMatch::NeedMore : StartMatch::No;
}

StartMatch match_response_start(std::string_view s) {
  constexpr std::string_view kPrefix = "HTTP/1.";
  std::size_t want = kPrefix.size() + 2;  // "HTTP/1.x "
  std::size_t n = std::min(s.size(), kPrefix.size());
  if (s.substr(0, n) != kPrefix.substr(0, n)) return StartMatch::No;
  if (s.size() < want) return StartMatch::NeedMore;
  if (s[7] >= '0' && s[7] <= '9' && s[8] == ' ') return StartMatch::Yes;
  return StartMatch::No;
}

constexpr std::size_t kZeroChunk = 65536;
constexpr std::size_t kTypicalHeaders = 8;
const std::array<char, kZeroChunk> kZeros{};

}  // namespace

bool looks_like_request_start(std::string_view s) {
  return match_request_start(s) == StartMatch::Yes;
}

bool looks_like_response_start(std::string_view s) {
  return match_response_start(s) == StartMatch::Yes;
}

HttpParser::HttpParser(MessageKind kind, MessageHandler& handler, const ParserLimits& limits)
    : kind_(kind), handler_(handler), limits_(limits) {
  reset_llhttp();
}

void HttpParser::reset_llhttp() {
  llhttp_init(&parser_, kind_ == MessageKind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              &settings());
  parser_.data = this;
  // A sniffer follows what the peers do: keep parsing after "Connection: close".
  llhttp_set_lenient_keep_alive(&parser_, 1);
  // Accept header values real servers accept (bare LF line ends, odd bytes): offpath does
  // not forward anything, so leniency cannot be turned into request smuggling here.
  llhttp_set_lenient_headers(&parser_, 1);
  in_message_ = false;
  in_body_ = false;
  body_until_eof_ = false;
  chunk_line_ = false;
  skipping_chunk_ext_ = false;
  last_chunk_ = false;
}

void HttpParser::start(bool at_message_start) {
  state_ = at_message_start ? ParserState::Parsing : ParserState::Sync;
}

std::uint64_t HttpParser::offset_of(const char* at) const {
  return exec_offset_ + static_cast<std::uint64_t>(at - exec_base_);
}

void HttpParser::feed(std::uint64_t offset, ByteView data, Timestamp ts) {
  next_offset_ = offset + data.size();
  exec_offset_ = offset;
  switch (state_) {
    case ParserState::Sync:
      sync(data, ts);
      return;
    case ParserState::Parsing:
      execute(data, ts);
      return;
    case ParserState::AwaitUpgrade: {
      std::size_t room = limits_.max_upgrade_wait_bytes - std::min<std::size_t>(
                                                              upgrade_wait_.size(),
                                                              limits_.max_upgrade_wait_bytes);
      std::size_t keep = std::min(room, data.size());
      upgrade_wait_.append(as_chars(data.first(keep)));
      counters_.tunnel_bytes += data.size() - keep;
      return;
    }
    case ParserState::Tunnel:
      counters_.tunnel_bytes += data.size();
      return;
    case ParserState::Failed:
      counters_.failed_bytes += data.size();
      return;
  }
}

void HttpParser::sync(ByteView data, Timestamp ts) {
  // Join the carried tail of the previous feed, if any, so that a message start split
  // across two segments is still found.
  std::string joined;
  std::string_view s = as_chars(data);
  std::uint64_t base_offset = exec_offset_;
  const bool starts_with_carry = !sync_carry_.empty();  // a carry always begins a line
  if (starts_with_carry) {
    joined = sync_carry_;
    joined.append(s);
    base_offset -= sync_carry_.size();
    s = joined;
    sync_carry_.clear();
  }
  auto matcher = kind_ == MessageKind::Request ? match_request_start : match_response_start;
  // Only a line start can begin a message: the start of the stream, after a gap, or
  // after a '\n'. A feed boundary in the middle of a line is not one.
  std::size_t pos = 0;
  if (!sync_line_start_ && !starts_with_carry) {
    std::size_t nl = s.find('\n');
    if (nl == std::string_view::npos) {
      counters_.sync_skipped_bytes += s.size();
      return;
    }
    pos = nl + 1;
  }
  sync_line_start_ = !s.empty() && s.back() == '\n';
  while (pos < s.size()) {
    StartMatch m = matcher(s.substr(pos));
    if (m == StartMatch::Yes) {
      counters_.sync_skipped_bytes += pos;
      ++counters_.resyncs;
      state_ = ParserState::Parsing;
      reset_llhttp();
      std::string_view rest = s.substr(pos);
      exec_offset_ = base_offset + pos;
      // `rest` may point into `joined`, which lives until the end of this call.
      execute(ByteView(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()), ts);
      return;
    }
    if (m == StartMatch::NeedMore) {
      counters_.sync_skipped_bytes += pos;
      sync_carry_.assign(s.substr(pos));
      return;
    }
    std::size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  counters_.sync_skipped_bytes += s.size();
}

void HttpParser::execute(ByteView data, Timestamp ts) {
  const char* p = reinterpret_cast<const char*>(data.data());
  exec_base_ = p;
  exec_ts_ = ts;
  llhttp_errno_t err = run_llhttp(p, data.size());
  if (err == HPE_OK) return;
  const char* stop = llhttp_get_error_pos(&parser_);
  std::size_t consumed = stop != nullptr && stop >= p ? static_cast<std::size_t>(stop - p)
                                                       : data.size();
  consumed = std::min(consumed, data.size());
  if (err == HPE_PAUSED_UPGRADE) {
    ByteView rest = data.subspan(consumed);
    if (kind_ == MessageKind::Response || upgrade_decision_ == 1) {
      state_ = ParserState::Tunnel;
      counters_.tunnel_bytes += rest.size();
      upgrade_decision_ = -1;
      return;
    }
    if (upgrade_decision_ == 0) {  // already refused: keep parsing
      upgrade_decision_ = -1;
      llhttp_resume_after_upgrade(&parser_);
      exec_offset_ += consumed;
      execute(rest, ts);
      return;
    }
    state_ = ParserState::AwaitUpgrade;
    upgrade_wait_.clear();
    exec_offset_ += consumed;
    feed(exec_offset_, rest, ts);
    return;
  }
  // A real parse error: report the message in progress and stop parsing this direction.
  ++counters_.parse_errors;
  std::string detail = llhttp_errno_name(err);
  if (const char* reason = llhttp_get_error_reason(&parser_); reason != nullptr) {
    detail += ": ";
    detail += reason;
  }
  if (!in_message_) {
    // The error came before llhttp saw a message begin: still one aborted message.
    current_ = HttpMessage{};
    current_.kind = kind_;
    current_.first_byte = ts;
    current_.stream_offset = exec_offset_;
    in_message_ = true;
    handler_.on_message_begin(kind_, current_);
  }
  if (kind_ == MessageKind::Request && (current_.method.empty() || current_.uri.empty())) {
    salvage_request_line(as_chars(data), consumed);
  }
  abort_message(AbortReason::ParseError, detail);
  state_ = ParserState::Failed;
  counters_.failed_bytes += data.size() - consumed;
}

// llhttp_execute on [p, p + n), except the chunk extensions of chunk-size lines, which
// llhttp 8.1 cannot be trusted with (see the header). llhttp pauses itself where a
// chunk-size line starts (cb_headers_complete and cb_chunk_complete return HPE_PAUSED),
// so the line is never inside a call that began before it. While llhttp is before or
// inside a chunk-size line (chunk_line_), the hex size goes to llhttp;
// from the first SP/HTAB or ';' after it up to the line's CR or LF nothing does, so that
// llhttp sees "9\r\n". A quoted-string cannot hold CR or LF, so the line end is the first
// CR or LF whatever the extension holds. Anything else after the size still reaches
// llhttp and is rejected there. Pointers stay in the caller's buffer, so offsets and error
// positions are those of the stream; no copy is made.
llhttp_errno_t HttpParser::run_llhttp(const char* p, std::size_t n) {
  const char* end = p + n;
  while (true) {
    if (skipping_chunk_ext_) {
      const char* q = p;
      while (q < end && *q != '\r' && *q != '\n') ++q;
      counters_.chunk_ext_bytes += static_cast<std::uint64_t>(q - p);
      p = q;
      if (p == end) return HPE_OK;
      skipping_chunk_ext_ = false;
    }
    const char* stop = end;
    if (chunk_line_) {
      const char* q = p;
      while (q < end && (std::isxdigit(static_cast<unsigned char>(*q)) != 0)) ++q;
      if (q < end && (*q == ';' || *q == ' ' || *q == '\t')) stop = q;
    }
    llhttp_errno_t err = llhttp_execute(&parser_, p, static_cast<std::size_t>(stop - p));
    if (err == HPE_PAUSED && chunk_line_) {
      // Our own pause (cb_headers_complete, cb_chunk_complete): a size line starts here.
      const char* at = llhttp_get_error_pos(&parser_);
      llhttp_resume(&parser_);
      p = at != nullptr && at >= p && at <= stop ? at : stop;
      continue;
    }
    if (err != HPE_OK || stop == end) return err;
    skipping_chunk_ext_ = true;
    p = stop;
  }
}

// llhttp rejected a request line (unknown method, missing version): keep its words as
// sent, so that the record still says what was asked. The line is the one holding the
// error position.
void HttpParser::salvage_request_line(std::string_view data, std::size_t error_pos) {
  std::size_t end_pos = std::min(error_pos, data.size());
  std::size_t start = data.rfind('\n', end_pos == 0 ? 0 : end_pos - 1);
  start = (start == std::string_view::npos || start >= end_pos) ? 0 : start + 1;
  std::size_t stop = data.find('\n', start);
  std::string_view line = data.substr(start, stop == std::string_view::npos ? std::string_view::npos
                                                                          : stop - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  line = line.substr(0, limits_.max_uri_bytes);
  std::size_t sp = line.find(' ');
  if (current_.method.empty()) {
    current_.method = std::string(line.substr(0, std::min<std::size_t>(sp, 64)));
  }
  if (sp != std::string_view::npos && current_.uri.empty()) {
    std::string_view rest = line.substr(sp + 1);
    current_.uri = std::string(rest.substr(0, rest.find(' ')));
  }
}

void HttpParser::abort_message(AbortReason reason, std::string_view detail) {
  if (!in_message_) return;
  if (!field_.empty() && keep_header_ && current_.headers.size() < 1000) {
    current_.headers.push_back({std::move(field_), std::move(value_)});
  }
  field_.clear();
  value_.clear();
  if (reason == AbortReason::Gap) current_.gap = true;
  in_message_ = false;
  in_body_ = false;
  handler_.on_message_aborted(kind_, std::move(current_), reason, detail);
  current_ = HttpMessage{};
}

void HttpParser::gap(std::uint64_t length, Timestamp ts) {
  next_offset_ += length;
  sync_carry_.clear();
  sync_line_start_ = true;
  switch (state_) {
    case ParserState::Sync:
      counters_.sync_skipped_bytes += length;
      return;
    case ParserState::AwaitUpgrade:
    case ParserState::Tunnel:
      counters_.tunnel_bytes += length;
      return;
    case ParserState::Failed:
      counters_.failed_bytes += length;
      return;
    case ParserState::Parsing:
      break;
  }
  const bool identity_body = in_body_ && !current_.chunked &&
                             (body_until_eof_ || parser_.content_length >= length);
  if (in_message_ && identity_body) {
    // The lost bytes are body bytes: account for them and keep parsing.
    current_.gap = true;
    filling_gap_ = true;
    std::uint64_t left = length;
    std::uint64_t at = next_offset_ - length;
    while (left > 0 && state_ == ParserState::Parsing) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kZeroChunk));
      exec_offset_ = at;
      execute(ByteView(reinterpret_cast<const std::uint8_t*>(kZeros.data()), n), ts);
      at += n;
      left -= n;
    }
    filling_gap_ = false;
    counters_.gap_filled_bytes += length;
    return;
  }
  if (in_message_) abort_message(AbortReason::Gap, "gap in stream");
  reset_llhttp();
  state_ = ParserState::Sync;
}

void HttpParser::finish(Timestamp ts) {
  if (state_ == ParserState::Parsing && in_message_) {
    exec_ts_ = ts;
    exec_base_ = nullptr;
    llhttp_errno_t err = llhttp_finish(&parser_);
    if (err != HPE_OK && in_message_) abort_message(AbortReason::EndOfStream, "stream ended");
  } else if (state_ == ParserState::AwaitUpgrade) {
    counters_.tunnel_bytes += upgrade_wait_.size();
    upgrade_wait_.clear();
  }
  if (in_message_) abort_message(AbortReason::EndOfStream, "stream ended");
  state_ = ParserState::Failed;
}

void HttpParser::resolve_upgrade(bool accepted, Timestamp ts) {
  if (state_ != ParserState::AwaitUpgrade) {
    if (state_ == ParserState::Parsing) upgrade_decision_ = accepted ? 1 : 0;
    return;
  }
  if (accepted) {
    state_ = ParserState::Tunnel;
    counters_.tunnel_bytes += upgrade_wait_.size();
    upgrade_wait_.clear();
    return;
  }
  state_ = ParserState::Parsing;
  llhttp_resume_after_upgrade(&parser_);
  std::string waiting = std::move(upgrade_wait_);
  upgrade_wait_.clear();
  exec_offset_ = next_offset_ - waiting.size();
  execute(ByteView(reinterpret_cast<const std::uint8_t*>(waiting.data()), waiting.size()), ts);
}

// --- llhttp callbacks -------------------------------------------------------------

int HttpParser::cb_message_begin() {
  current_ = HttpMessage{};
  current_.headers.reserve(kTypicalHeaders);  // one allocation instead of a growth series
  current_.kind = kind_;
  current_.first_byte = exec_ts_;
  current_.stream_offset = exec_offset_;
  field_.clear();
  value_.clear();
  keep_header_ = true;
  shed_body_ = limits_.budget != nullptr && limits_.max_body != 0 &&
               limits_.budget->level() >= kShedBodies;
  shed_counted_ = false;
  in_message_ = true;
  in_body_ = false;
  saw_start_ = false;
  handler_.on_message_begin(kind_, current_);
  return 0;
}

int HttpParser::cb_method(const char* at, std::size_t len) {
  if (!saw_start_ && exec_base_ != nullptr) {
    current_.stream_offset = offset_of(at);
    saw_start_ = true;
  }
  if (current_.method.size() < 64) current_.method.append(at, std::min<std::size_t>(len, 64));
  return 0;
}

int HttpParser::cb_url(const char* at, std::size_t len) {
  std::size_t room = limits_.max_uri_bytes - std::min<std::size_t>(current_.uri.size(),
                                                                   limits_.max_uri_bytes);
  if (len > room) current_.uri_truncated = true;
  current_.uri.append(at, std::min(len, room));
  return 0;
}

int HttpParser::cb_status(const char* at, std::size_t len) {
  if (current_.reason.size() < 512) current_.reason.append(at, std::min<std::size_t>(len, 512));
  return 0;
}

int HttpParser::cb_version(const char* at, std::size_t len) {
  if (!saw_start_ && exec_base_ != nullptr && kind_ == MessageKind::Response) {
    std::uint64_t off = offset_of(at);
    current_.stream_offset = off >= 5 ? off - 5 : 0;  // "HTTP/" precedes the version
    saw_start_ = true;
  }
  (void)len;
  return 0;
}

int HttpParser::cb_header_field(const char* at, std::size_t len) {
  current_.header_bytes += len;
  if (current_.header_bytes > limits_.max_header_bytes) {
    keep_header_ = false;
    current_.headers_truncated = true;
    return 0;
  }
  field_.append(at, len);
  return 0;
}

int HttpParser::cb_header_value(const char* at, std::size_t len) {
  current_.header_bytes += len;
  if (current_.header_bytes > limits_.max_header_bytes) {
    keep_header_ = false;
    current_.headers_truncated = true;
    return 0;
  }
  value_.append(at, len);
  return 0;
}

int HttpParser::cb_header_value_complete() {
  if (keep_header_ && current_.headers.size() < 1000) {
    while (!value_.empty() && (value_.back() == ' ' || value_.back() == '\t')) value_.pop_back();
    current_.headers.push_back({std::move(field_), std::move(value_)});
  } else {
    current_.headers_truncated = true;
  }
  field_.clear();
  value_.clear();
  keep_header_ = true;
  return 0;
}

int HttpParser::cb_headers_complete() {
  current_.headers_end = exec_ts_;
  current_.version_major = parser_.http_major;
  current_.version_minor = parser_.http_minor;
  current_.chunked = (parser_.flags & F_CHUNKED) != 0;
  current_.upgrade = parser_.upgrade != 0;
  current_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  if (kind_ == MessageKind::Request) {
    current_.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  } else {
    current_.status = parser_.status_code;
  }
  BodyMode mode = handler_.on_headers_complete(kind_, current_);
  in_body_ = true;
  chunk_line_ = current_.chunked && mode == BodyMode::Normal;
  last_chunk_ = false;
  body_until_eof_ = (parser_.flags & (F_CHUNKED | F_CONTENT_LENGTH)) == 0 &&
                    kind_ == MessageKind::Response;
  switch (mode) {
    case BodyMode::Normal: return chunk_line_ ? HPE_PAUSED : 0;  // pause: as 0, see run_llhttp
    case BodyMode::NoBody: in_body_ = false; return 1;
    case BodyMode::Upgrade: in_body_ = false; current_.upgrade = true; return 2;
  }
  return 0;
}

int HttpParser::cb_body(const char* at, std::size_t len) {
  current_.body_size += len;
  if (filling_gap_) {
    current_.body_missing += len;
    return 0;
  }
  if (shed_body_) {
    if (!shed_counted_) ++counters_.bodies_not_kept;
    shed_counted_ = true;
    return 0;
  }
  std::size_t room = limits_.max_body - std::min<std::size_t>(current_.body.size(),
                                                              limits_.max_body);
  if (room == 0) return 0;
  if (current_.body.empty()) {
    // What is still to come of this body (or chunk), within the limit: one allocation.
    std::uint64_t expected = len + parser_.content_length;
    current_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expected, room)));
  }
  current_.body.append(at, std::min(len, room));
  return 0;
}

// The chunk-size line ended: chunk data (or, after the last chunk, trailers) follows.
int HttpParser::cb_chunk_header() {
  chunk_line_ = false;
  last_chunk_ = parser_.content_length == 0;
  return 0;
}

// A chunk's data and its CRLF ended; unless it was the last chunk, a size line follows.
int HttpParser::cb_chunk_complete() {
  chunk_line_ = !last_chunk_;
  return chunk_line_ ? HPE_PAUSED : 0;  // llhttp resumes at the size line (run_llhttp)
}

int HttpParser::cb_message_complete() {
  chunk_line_ = false;
  current_.last_byte = exec_ts_;
  current_.complete = true;
  current_.body_truncated = current_.body_size > current_.body.size();
  in_message_ = false;
  in_body_ = false;
  ++counters_.messages;
  handler_.on_message_complete(kind_, std::move(current_));
  current_ = HttpMessage{};
  return 0;
}

}  // namespace offpath
