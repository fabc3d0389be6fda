// HttpParser: llhttp for ONE direction of a connection (requests from the client, or
// responses from the server). Fed reassembled bytes; reports message boundaries to a
// MessageHandler (the pairer), which decides whether a response has a body (HEAD, 1xx,
// 204, 304, CONNECT, Upgrade: llhttp's on_headers_complete returning 1 or 2).
//
// States:
//  - Sync: looking for a message start (request line or status line) at a line start, or
//    inside a line right after a binary byte when the whole start line is there; used
//    for connections picked up mid-stream and after a gap. Bytes skipped are counted.
//    While the connection's roles are a guess (set_either_kind), a start line of the
//    other kind is handed back to the connection (take_handoff) instead of parsed.
//  - Parsing: llhttp owns the bytes. A stream seen from its start must begin with a
//    request line (any token method when the line ends in HTTP/1.x) or a status line;
//    otherwise it goes to NotHttp, unless the peer direction already began as HTTP
//    (then llhttp judges the bytes: a parse error of an HTTP connection).
//  - NotHttp: the direction did not begin as HTTP (TLS, SSH, SMTP, ...): bytes are not
//    parsed. If the peer direction later begins as HTTP, the connection is HTTP after
//    all and this direction becomes one parse error (reject_not_http).
//  - Parsing: llhttp owns the bytes.
//  - AwaitUpgrade: a request asked for an upgrade (Upgrade, CONNECT); later bytes wait
//    (bounded) until the response accepts (-> Tunnel) or refuses (-> Parsing).
//  - Tunnel: after 101 or a successful CONNECT the rest is not HTTP: offered to the
//    TunnelHandler (the connection, which takes it after an h2c upgrade), else counted.
//  - Failed: llhttp rejected the bytes; the rest of this direction is counted, not parsed
//    (llhttp errors are sticky).
// Gaps: inside a Content-Length or close-delimited body the lost bytes are accounted as
// missing body and parsing continues; anywhere else the message in progress is aborted
// (emitted with a gap anomaly) and the parser resynchronises at the next message start.
// Chunk extensions (RFC 9112 7.1.1) are not handed to llhttp: llhttp 8.1 rejects valid
// ones (a token value followed by another extension, `9;seq=2;note="x"`, and BWS), and
// they carry nothing offpath records. Bytes skipped so are counted (chunk_ext_bytes).
// Owned by one connection; called on the worker thread that owns it.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/memory_budget.hpp"
#include "common/time.hpp"
#include "http/message.hpp"

namespace offpath {

enum class BodyMode : std::uint8_t { Normal, NoBody, Upgrade };

enum class AbortReason : std::uint8_t {
  ParseError,   // llhttp rejected the bytes
  Gap,          // a gap in the TCP stream broke the message
  EndOfStream,  // the stream ended inside the message
};

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  virtual void on_message_begin(MessageKind kind, HttpMessage& msg) = 0;
  // The header block is complete. For responses the return value tells llhttp whether a
  // body follows (NoBody for HEAD, Upgrade for 101 and CONNECT 2xx).
  virtual BodyMode on_headers_complete(MessageKind kind, HttpMessage& msg) = 0;
  virtual void on_message_complete(MessageKind kind, HttpMessage&& msg) = 0;
  // The message in progress will not complete; msg holds what was seen of it.
  virtual void on_message_aborted(MessageKind kind, HttpMessage&& msg, AbortReason reason,
                                  std::string_view detail) = 0;
};

// Bytes of a direction after an accepted upgrade; true if taken (else counted as tunnel).
class TunnelHandler {
 public:
  virtual ~TunnelHandler() = default;
  virtual bool on_tunnel_data(ByteView data, Timestamp ts) = 0;
};

// True when `s` begins like a request line ("GET /...") or a status line ("HTTP/1.1 200").
bool looks_like_request_start(std::string_view s);
bool looks_like_response_start(std::string_view s);

enum class ParserState : std::uint8_t { Sync, Parsing, AwaitUpgrade, Tunnel, Failed, NotHttp };

struct ParserLimits {
  std::uint32_t max_body = 1024;       // bytes of body kept (0 = none)
  std::uint32_t max_header_bytes = 16384;
  std::uint32_t max_uri_bytes = 8192;
  std::uint32_t max_upgrade_wait_bytes = 65536;
  // Shedding (--memory-limit): from level kShedBodies on, new messages keep no body.
  const MemoryBudget* budget = nullptr;
};

struct ParserCounters {
  std::uint64_t messages = 0;
  std::uint64_t sync_skipped_bytes = 0;  // bytes skipped while looking for a message start
  std::uint64_t tunnel_bytes = 0;        // bytes after an upgrade, not parsed
  std::uint64_t failed_bytes = 0;        // bytes after a parse error, not parsed
  std::uint64_t parse_errors = 0;
  std::uint64_t resyncs = 0;             // message starts found in Sync state
  std::uint64_t gap_filled_bytes = 0;    // body bytes lost in gaps, parsing continued
  std::uint64_t chunk_ext_bytes = 0;     // chunk-extension bytes not handed to llhttp
  std::uint64_t bodies_not_kept = 0;     // messages with a body begun while shedding bodies

  ParserCounters& operator+=(const ParserCounters& o) {
    messages += o.messages;
    sync_skipped_bytes += o.sync_skipped_bytes;
    tunnel_bytes += o.tunnel_bytes;
    failed_bytes += o.failed_bytes;
    parse_errors += o.parse_errors;
    resyncs += o.resyncs;
    gap_filled_bytes += o.gap_filled_bytes;
    chunk_ext_bytes += o.chunk_ext_bytes;
    bodies_not_kept += o.bodies_not_kept;
    return *this;
  }
};

class HttpParser {
 public:
  HttpParser(MessageKind kind, MessageHandler& handler, const ParserLimits& limits);
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // at_message_start: the stream is known to begin with a message (its SYN was seen);
  // otherwise the parser starts in Sync.
  void start(bool at_message_start);
  // The parser of the other direction of the connection (told when this one begins).
  void set_peer(HttpParser* peer) { peer_ = peer; }
  void set_tunnel_handler(TunnelHandler* handler) { tunnel_handler_ = handler; }
  // Sync also watches for start lines of the other kind (roles are a guess).
  void set_either_kind(bool on) { either_kind_ = on; }
  // A start line of the other kind found in Sync: the bytes from it on and their stream
  // offset; the parser stays in Sync. False if none.
  bool take_handoff(std::string& bytes, std::uint64_t& offset);
  // Roles reversed before any message: each parser takes the other's place in the
  // streams (what Sync knows of where the last feed ended).
  void swap_streams(HttpParser& other);
  // The peer direction began as HTTP: a NotHttp direction becomes one parse error.
  void reject_not_http(Timestamp ts);

  void feed(std::uint64_t offset, ByteView data, Timestamp ts);
  void gap(std::uint64_t length, Timestamp ts);
  // The stream ended (FIN, RST, timeout, end of capture): completes a close-delimited
  // body, aborts any other message in progress.
  void finish(Timestamp ts);
  // Request side: the response accepted (101, CONNECT 2xx) or refused the upgrade.
  void resolve_upgrade(bool accepted, Timestamp ts);

  ParserState state() const { return state_; }
  bool in_message() const { return in_message_; }
  // A message began in this direction (or llhttp rejected what looked like one).
  bool began_http() const { return began_http_; }
  // Bytes fed and gap bytes reported, in all states.
  std::uint64_t stream_bytes() const { return next_offset_; }
  const ParserCounters& counters() const { return counters_; }
  // Heap bytes held for the message in progress and the bytes waiting (memory budget).
  std::int64_t heap_bytes() const {
    return current_.heap_bytes() + offpath::heap_bytes(field_) + offpath::heap_bytes(value_) +
           offpath::heap_bytes(sync_carry_) + offpath::heap_bytes(upgrade_wait_);
  }

  // llhttp callbacks (static trampolines in parser.cpp).
  int cb_message_begin();
  int cb_method(const char* at, std::size_t len);
  int cb_url(const char* at, std::size_t len);
  int cb_status(const char* at, std::size_t len);
  int cb_status_complete();
  int cb_version(const char* at, std::size_t len);
  int cb_header_field(const char* at, std::size_t len);
  int cb_header_value(const char* at, std::size_t len);
  int cb_header_value_complete();
  int cb_headers_complete();
  int cb_body(const char* at, std::size_t len);
  int cb_chunk_header();
  int cb_chunk_complete();
  int cb_message_complete();

 private:
  void tunnel(ByteView data, Timestamp ts);  // tunnel bytes: to the handler, or counted
  void reset_llhttp();
  void execute(ByteView data, Timestamp ts);
  llhttp_errno_t run_llhttp(const char* p, std::size_t n);
  void sync(ByteView data, Timestamp ts);
  void check_first_bytes(ByteView data, Timestamp ts);
  // `data` after the bytes carried from the last feed (then in join_buf_); base_offset
  // moves back by the carry.
  std::string_view join_carry(ByteView data, std::uint64_t& base_offset);
  void hand_off(std::string_view bytes, std::uint64_t offset);
  void start_at(std::string_view s, std::size_t pos, std::uint64_t base_offset, Timestamp ts);
  void mark_began_http();
  std::string start_line_text() const;
  void begin_failed_message(Timestamp first_byte, std::uint64_t offset);
  void abort_message(AbortReason reason, std::string_view detail);
  void salvage_request_line(std::string_view data, std::size_t error_pos);
  std::uint64_t offset_of(const char* at) const;

  MessageKind kind_;
  MessageHandler& handler_;
  ParserLimits limits_;
  llhttp_t parser_{};
  ParserState state_ = ParserState::Sync;
  ParserCounters counters_;

  HttpMessage current_;
  std::string field_;           // header name being assembled
  std::string value_;           // header value being assembled
  bool in_message_ = false;
  bool in_body_ = false;        // header block done, body bytes may follow
  bool body_until_eof_ = false; // close-delimited body
  bool filling_gap_ = false;    // body bytes being fed are placeholders for a gap
  bool saw_start_ = false;      // first byte position of the message recorded
  bool keep_header_ = true;     // current header fits in the limit
  bool shed_body_ = false;      // the message began while shedding: its body is not kept
  bool shed_counted_ = false;   // ... and was counted in bodies_not_kept
  std::int8_t upgrade_decision_ = -1;  // resolve_upgrade() before the pause: 0/1
  // Chunk-size lines (see run_llhttp): llhttp is before a chunk-size line or inside one,
  // and whether the chunk extension of that line is being skipped.
  bool chunk_line_ = false;
  bool skipping_chunk_ext_ = false;
  bool last_chunk_ = false;

  // Where the bytes being executed sit in the stream.
  const char* exec_base_ = nullptr;
  std::uint64_t exec_offset_ = 0;
  Timestamp exec_ts_;
  std::uint64_t next_offset_ = 0;  // stream offset after the last byte fed

  std::string sync_carry_;       // tail of the last feed that may begin a message
  std::string join_buf_;         // sync_carry_ + the next feed
  bool sync_line_start_ = true;  // the next byte fed in Sync state starts a line
  bool carry_after_binary_ = false;  // sync_carry_ follows a binary byte, not a line start
  TunnelHandler* tunnel_handler_ = nullptr;
  std::string upgrade_wait_;     // bytes held in AwaitUpgrade

  HttpParser* peer_ = nullptr;
  bool check_start_ = false;     // the next bytes are the first of the stream
  bool began_http_ = false;
  bool either_kind_ = false;
  bool sync_after_binary_ = false;  // the last byte fed in Sync state was not text
  bool has_handoff_ = false;
  std::string handoff_;          // see take_handoff
  std::uint64_t handoff_offset_ = 0;
  std::string not_http_head_;    // first bytes of a NotHttp direction (bounded)
  Timestamp not_http_ts_;
  std::uint64_t not_http_bytes_ = 0;  // held in NotHttp, until the connection decides
  const char* exec_end_ = nullptr;
  std::string error_detail_;     // our own reason for a callback error
};

}  // namespace offpath
