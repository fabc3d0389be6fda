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
    st.on_status_complete = [](llhttp_t* p) { return self(p).cb_status_complete(); };
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

StartMatch match_start(MessageKind kind, std::string_view s) {
  return kind == MessageKind::Request ? match_request_start(s) : match_response_start(s);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Printable ASCII or the whitespace of text lines.
bool is_text(char c) {
  return (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\r' || c == '\n';
}

// A whole request line inside `line` (which ends at its '\n' or at the end of the data):
// a known method, SP, a visible target, SP, "HTTP/1.d", CR or LF. Returns where the
// method begins, or npos.
std::size_t find_request_line(std::string_view line) {
  constexpr std::string_view kVersion = " HTTP/1.";
  for (std::size_t v = line.find(kVersion); v != std::string_view::npos;
       v = line.find(kVersion, v + 1)) {
    const std::size_t end = v + kVersion.size();
    if (v == 0 || end + 1 >= line.size() || !is_digit(line[end]) ||
        (line[end + 1] != '\r' && line[end + 1] != '\n')) {
      continue;
    }
    const std::size_t sp = line.rfind(' ', v - 1);
    if (sp == std::string_view::npos || sp + 1 == v) continue;
    std::string_view target = line.substr(sp + 1, v - sp - 1);
    if (!std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
      continue;
    }
    std::size_t best = std::string_view::npos;
    for (std::string_view m : kMethods) {
      if (sp >= m.size() && line.substr(sp - m.size(), m.size()) == m) {
        best = std::min(best, sp - m.size());  // the longest method that fits
      }
    }
    if (best != std::string_view::npos) return best;
  }
  return std::string_view::npos;
}

// A status line inside `line`: "HTTP/1.d SP ddd" then SP, CR or LF. Returns its
// position, or npos.
std::size_t find_status_line(std::string_view line) {
  constexpr std::string_view kPrefix = "HTTP/1.";
  for (std::size_t p = line.find(kPrefix); p != std::string_view::npos;
       p = line.find(kPrefix, p + 1)) {
    if (p + 12 >= line.size()) return std::string_view::npos;
    std::string_view t = line.substr(p + 7, 6);  // "1 200 "
    if (is_digit(t[0]) && t[1] == ' ' && is_digit(t[2]) && is_digit(t[3]) && is_digit(t[4]) &&
        (t[5] == ' ' || t[5] == '\r' || t[5] == '\n')) {
      return p;
    }
  }
  return std::string_view::npos;
}

std::size_t find_start_line(MessageKind kind, std::string_view line) {
  return kind == MessageKind::Request ? find_request_line(line) : find_status_line(line);
}

// How far the first line of a stream seen from its start may be read before deciding
// whether a request line with an unknown method is one.
constexpr std::size_t kMaxFirstLine = 2048;

// The first bytes of a stream: do they begin a request line? A known method decides at
// once (as in Sync); another token (e.g. "BREW") only when its line ends in HTTP/1.x,
// so that "EHLO host" or "AUTH x" are not taken for requests.
StartMatch match_first_request(std::string_view s) {
  StartMatch known = match_request_start(s);
  if (known != StartMatch::No) return known;
  constexpr std::size_t kMaxToken = 24;
  std::size_t i = 0;
  while (i < s.size() && i < kMaxToken &&
         ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_')) {
    ++i;
  }
  if (i == 0) return StartMatch::No;
  if (i == s.size()) return i < kMaxToken ? StartMatch::NeedMore : StartMatch::No;
  if (s[i] != ' ') return StartMatch::No;
  std::size_t nl = s.find('\n');
  if (nl == std::string_view::npos) {
    return s.size() < kMaxFirstLine ? StartMatch::NeedMore : StartMatch::Yes;
  }
  std::string_view line = s.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  constexpr std::string_view kVersion = " HTTP/1.";
  const bool versioned = line.size() > kVersion.size() && is_digit(line.back()) &&
                         line.substr(line.size() - kVersion.size() - 1, kVersion.size()) ==
                             kVersion;
  return versioned ? StartMatch::Yes : StartMatch::No;
}

// Up to `n` bytes of `s` for a record: printable ASCII kept, others as \xHH.
std::string printable(std::string_view s, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s.substr(0, n)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// Bytes after a binary byte held in Sync state while their line is incomplete.
constexpr std::size_t kMaxSyncCarry = 8192;

// First bytes of a NotHttp direction kept, in case the peer turns out to speak HTTP.
constexpr std::size_t kNotHttpHead = 512;

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
  // Both Transfer-Encoding and Content-Length: read by Transfer-Encoding (RFC 9112 6.3),
  // as the peers will, and flag it (HttpMessage::ambiguous_length).
  llhttp_set_lenient_chunked_length(&parser_, 1);
  // HTTP/1.2 and other 1.x minors: read as 1.1 (RFC 9110 2.5). llhttp 8.1 has the flag
  // but no setter for it.
  parser_.lenient_flags |= LENIENT_VERSION;
  in_message_ = false;
  in_body_ = false;
  body_until_eof_ = false;
  chunk_line_ = false;
  skipping_chunk_ext_ = false;
  last_chunk_ = false;
}

void HttpParser::start(bool at_message_start) {
  state_ = at_message_start ? ParserState::Parsing : ParserState::Sync;
  check_start_ = at_message_start;
}

bool HttpParser::take_handoff(std::string& bytes, std::uint64_t& offset) {
  if (!has_handoff_) return false;
  has_handoff_ = false;
  bytes = std::move(handoff_);
  handoff_.clear();
  offset = handoff_offset_;
  return true;
}

void HttpParser::swap_streams(HttpParser& other) {
  std::swap(sync_carry_, other.sync_carry_);
  std::swap(carry_after_binary_, other.carry_after_binary_);
  std::swap(sync_line_start_, other.sync_line_start_);
  std::swap(sync_after_binary_, other.sync_after_binary_);
}

void HttpParser::mark_began_http() {
  if (began_http_) return;
  began_http_ = true;
  if (peer_ != nullptr) peer_->reject_not_http(exec_ts_);
}

void HttpParser::reject_not_http(Timestamp ts) {
  if (state_ != ParserState::NotHttp) return;
  ++counters_.parse_errors;
  counters_.failed_bytes += not_http_bytes_;
  not_http_bytes_ = 0;
  state_ = ParserState::Failed;
  begin_failed_message(not_http_ts_, 0);
  current_.last_byte = ts;
  // A text line (e.g. "CCM_POST /HTTP/1.1") still says what was asked; binary bytes
  // (a TLS ClientHello) are not made into a method.
  std::string_view head = not_http_head_;
  std::string_view first_line = head.substr(0, head.find('\n'));
  if (kind_ == MessageKind::Request && std::all_of(first_line.begin(), first_line.end(), is_text)) {
    salvage_request_line(head, 0);
  }
  std::string detail = "not HTTP: \"" + printable(head, 32) + "\"";
  not_http_head_ = std::string();
  abort_message(AbortReason::ParseError, detail);
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
      if (check_start_) {
        check_first_bytes(data, ts);
      } else {
        execute(data, ts);
      }
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
      tunnel(data, ts);
      return;
    case ParserState::Failed:
      counters_.failed_bytes += data.size();
      return;
    case ParserState::NotHttp:
      not_http_bytes_ += data.size();
      return;
  }
}

// The first bytes of a stream seen from its start (held until they decide, at most
// kMaxFirstLine bytes).
std::string_view HttpParser::join_carry(ByteView data, std::uint64_t& base_offset) {
  if (sync_carry_.empty()) return as_chars(data);
  base_offset -= sync_carry_.size();
  join_buf_.assign(sync_carry_);  // a member: its capacity stays for the next join
  join_buf_.append(as_chars(data));
  sync_carry_.clear();
  return join_buf_;
}

void HttpParser::check_first_bytes(ByteView data, Timestamp ts) {
  if (sync_carry_.empty()) not_http_ts_ = ts;
  std::uint64_t base_offset = exec_offset_;
  std::string_view s = join_carry(data, base_offset);
  StartMatch m = kind_ == MessageKind::Request ? match_first_request(s) : match_response_start(s);
  if (m == StartMatch::NeedMore) {
    sync_carry_.assign(s);
    return;
  }
  check_start_ = false;
  if (m == StartMatch::No && (peer_ == nullptr || !peer_->began_http())) {
    state_ = ParserState::NotHttp;
    not_http_head_.assign(s.substr(0, kNotHttpHead));
    not_http_bytes_ += s.size();
    return;
  }
  exec_offset_ = base_offset;
  execute(ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), ts);
}

void HttpParser::sync(ByteView data, Timestamp ts) {
  // Join the carried tail of the previous feed, if any, so that a message start split
  // across two segments is still found. A carry begins a line, or follows a binary byte
  // (carry_after_binary_).
  const bool starts_with_carry = !sync_carry_.empty();
  std::uint64_t base_offset = exec_offset_;
  std::string_view s = join_carry(data, base_offset);
  const MessageKind other_kind =
      kind_ == MessageKind::Request ? MessageKind::Response : MessageKind::Request;
  // A line start can begin a message (the start of the stream, after a gap, or after a
  // '\n'; a feed boundary in the middle of a line is not one), and so can a whole start
  // line right after a binary byte (a body or a foreign protocol ends, HTTP follows).
  bool line_start = starts_with_carry ? !carry_after_binary_ : sync_line_start_;
  bool after_binary = starts_with_carry ? carry_after_binary_ : sync_after_binary_;
  carry_after_binary_ = false;
  sync_line_start_ = !s.empty() && s.back() == '\n';
  sync_after_binary_ = !s.empty() && !is_text(s.back());
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t nl = s.find('\n', pos);
    const std::size_t line_end = nl == std::string_view::npos ? s.size() : nl + 1;
    if (line_start) {
      std::string_view rest = s.substr(pos);
      StartMatch own = match_start(kind_, rest);
      StartMatch other = either_kind_ ? match_start(other_kind, rest) : StartMatch::No;
      if (own == StartMatch::Yes) return start_at(s, pos, base_offset, ts);
      if (other == StartMatch::Yes) {
        counters_.sync_skipped_bytes += pos;
        return hand_off(s.substr(pos), base_offset + pos);
      }
      if (own == StartMatch::NeedMore || other == StartMatch::NeedMore) {
        counters_.sync_skipped_bytes += pos;
        sync_carry_.assign(rest);
        return;
      }
    }
    // A start line inside this line, after a binary byte.
    for (std::size_t from = pos + (line_start ? 1 : 0); from < line_end;) {
      std::string_view line = s.substr(from, line_end - from);
      std::size_t own = find_start_line(kind_, line);
      std::size_t other = either_kind_ ? find_start_line(other_kind, line) : std::string_view::npos;
      std::size_t at = std::min(own, other);
      if (at == std::string_view::npos) break;
      const bool binary_before = from + at == 0 ? after_binary : !is_text(s[from + at - 1]);
      if (!binary_before) {
        from += at + 1;
        continue;
      }
      if (at == own) return start_at(s, from + at, base_offset, ts);
      counters_.sync_skipped_bytes += from + at;
      return hand_off(s.substr(from + at), base_offset + from + at);
    }
    if (line_end == s.size() && s.back() != '\n') {
      // The last line is cut by the end of the feed: a start line may begin after its
      // last binary byte and end in the next feed. Keep that tail (bounded).
      std::size_t b = line_end;
      while (b > pos && is_text(s[b - 1])) --b;
      const bool after = b > pos || (!line_start && after_binary);
      const std::size_t tail = s.size() - b;
      const bool may_start =
          tail > 0 && ((either_kind_ || kind_ == MessageKind::Request) ? (s[b] >= 'A' && s[b] <= 'Z')
                                                                       : s[b] == 'H');
      if (after && may_start && tail <= kMaxSyncCarry) {
        counters_.sync_skipped_bytes += b;
        sync_carry_.assign(s.substr(b));
        carry_after_binary_ = true;
        return;
      }
    }
    pos = line_end;
    line_start = true;
  }
  counters_.sync_skipped_bytes += s.size();
}

// `bytes` begin with a start line of the other kind: kept for take_handoff, and Sync's
// view of the stream is that of their first byte (where the other parser takes over).
void HttpParser::hand_off(std::string_view bytes, std::uint64_t offset) {
  handoff_.assign(bytes);
  handoff_offset_ = offset;
  has_handoff_ = true;
  sync_carry_.clear();
  carry_after_binary_ = false;
  sync_line_start_ = true;
  sync_after_binary_ = false;
}

void HttpParser::start_at(std::string_view s, std::size_t pos, std::uint64_t base_offset,
                          Timestamp ts) {
  counters_.sync_skipped_bytes += pos;
  ++counters_.resyncs;
  state_ = ParserState::Parsing;
  sync_after_binary_ = false;
  reset_llhttp();
  std::string_view rest = s.substr(pos);
  exec_offset_ = base_offset + pos;
  // `rest` may point into join_buf_, which nothing changes during this call.
  execute(ByteView(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()), ts);
}

void HttpParser::execute(ByteView data, Timestamp ts) {
  const char* p = reinterpret_cast<const char*>(data.data());
  exec_base_ = p;
  exec_end_ = p + data.size();
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
      upgrade_decision_ = -1;
      tunnel(rest, ts);
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
  if (!error_detail_.empty()) {
    detail = std::move(error_detail_);
    error_detail_.clear();
  } else if (const char* reason = llhttp_get_error_reason(&parser_); reason != nullptr) {
    detail += ": ";
    detail += reason;
  }
  if (detail.rfind("HPE_", 0) == 0 && kind_ == MessageKind::Response && current_.status == 0) {
    // The status line itself was refused: say what it was.
    std::string_view text = as_chars(data);
    std::size_t line_start = text.rfind('\n', consumed == 0 ? 0 : consumed - 1);
    line_start = line_start == std::string_view::npos || line_start >= consumed ? 0 : line_start + 1;
    std::string_view line = text.substr(line_start);
    line = line.substr(0, line.find_first_of("\r\n"));
    detail += " in \"" + printable(line, 128) + "\"";
  }
  if (!in_message_) {
    // The error came before llhttp saw a message begin: still one aborted message.
    begin_failed_message(ts, exec_offset_);
    mark_began_http();
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

// A message that is about to be aborted without llhttp having begun it.
void HttpParser::begin_failed_message(Timestamp first_byte, std::uint64_t offset) {
  current_ = HttpMessage{};
  current_.kind = kind_;
  current_.first_byte = first_byte;
  current_.stream_offset = offset;
  in_message_ = true;
  handler_.on_message_begin(kind_, current_);
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
  carry_after_binary_ = false;
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
    case ParserState::NotHttp:
      not_http_bytes_ += length;
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
  check_start_ = false;
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
  if (state_ != ParserState::NotHttp) state_ = ParserState::Failed;
}

void HttpParser::tunnel(ByteView data, Timestamp ts) {
  if (data.empty()) return;
  if (tunnel_handler_ == nullptr || !tunnel_handler_->on_tunnel_data(data, ts)) {
    counters_.tunnel_bytes += data.size();
  }
}

void HttpParser::resolve_upgrade(bool accepted, Timestamp ts) {
  if (state_ != ParserState::AwaitUpgrade) {
    if (state_ == ParserState::Parsing) upgrade_decision_ = accepted ? 1 : 0;
    return;
  }
  if (accepted) {
    state_ = ParserState::Tunnel;
    std::string waiting = std::move(upgrade_wait_);
    upgrade_wait_.clear();
    tunnel(ByteView(reinterpret_cast<const std::uint8_t*>(waiting.data()), waiting.size()), ts);
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
  mark_began_http();
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

// The status line is read: its code is kept even if the rest of the response fails.
// A code that is not three digits (llhttp takes "20" and "000") makes it a parse error.
int HttpParser::cb_status_complete() {
  current_.status = parser_.status_code;
  current_.version_major = parser_.http_major;
  current_.version_minor = parser_.http_major == 1 ? std::min<int>(parser_.http_minor, 1)
                                                   : parser_.http_minor;
  if (current_.status >= 100 && current_.status <= 999) return 0;
  current_.status = 0;
  error_detail_ = "invalid status code in \"" + printable(start_line_text(), 128) + "\"";
  return -1;
}

// The start line of the message being parsed, as far as the bytes being executed hold it.
std::string HttpParser::start_line_text() const {
  if (exec_base_ == nullptr || current_.stream_offset < exec_offset_) return {};
  const char* p = exec_base_ + (current_.stream_offset - exec_offset_);
  if (p >= exec_end_) return {};
  std::string_view line(p, static_cast<std::size_t>(exec_end_ - p));
  return std::string(line.substr(0, line.find_first_of("\r\n")));
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
  current_.headers_complete = true;
  current_.version_major = parser_.http_major;
  // HTTP/1.2 and later minors are read as 1.1 (LENIENT_VERSION).
  current_.version_minor = parser_.http_major == 1 ? std::min<int>(parser_.http_minor, 1)
                                                   : parser_.http_minor;
  current_.ambiguous_length =
      (parser_.flags & F_CONTENT_LENGTH) != 0 && (parser_.flags & F_TRANSFER_ENCODING) != 0;
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
