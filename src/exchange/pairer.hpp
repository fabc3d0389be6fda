// Pairer: turns the messages of both directions of one connection into Exchanges.
// Requests queue in order (HTTP/1.1 pipelining); each final response completes the
// oldest request that has none (Zeek's unanswered_requests). 1xx interim responses are
// recorded on that request, never paired as final. The pairer tells the response parser
// when no body follows (HEAD) and when the connection leaves HTTP (101, CONNECT 2xx).
//
// Alignment after loss: a response can only answer a request whose first byte the server
// had acknowledged when the response began. When the oldest open request starts beyond
// the server's acknowledgement, its real request was lost in a gap: the response is
// emitted as an orphan instead of being paired with the wrong request.
//
// Lifecycle: an exchange is emitted when its request and its final response have both
// ended (or been aborted). close() emits every open request with the outcome given
// (reset, closed, capture ended, timeout, evicted). Owned by one connection; worker thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "exchange/exchange.hpp"
#include "http/parser.hpp"

namespace offpath {

class Pairer final : public MessageHandler {
 public:
  struct Context {
    Endpoint client;
    Endpoint server;
    std::uint64_t connection_id = 0;
    Timestamp connection_start;
    std::uint32_t base_anomalies = 0;  // e.g. mid-stream pick-up
  };

  Pairer(const Context& ctx, ExchangeHandler& out) : ctx_(ctx), out_(out) {}

  // The request parser, so that upgrades can be resolved. Must be set before use.
  void set_request_parser(HttpParser* parser) { request_parser_ = parser; }
  // Highest client-stream offset the server has acknowledged (from server segments).
  void set_server_ack(std::uint64_t offset) { server_ack_ = offset; have_server_ack_ = true; }

  // Emits every open request with `why` (a response that completed is still Complete).
  void close(Outcome why);
  // Emits requests that have waited for a response since before `deadline`, with
  // outcome Timeout; a response that arrives later is counted as late and dropped.
  void expire(Timestamp deadline);
  bool has_open() const { return !pending_.empty(); }
  // Heap bytes of the open exchanges (memory budget): the queue's blocks and what each
  // held message holds.
  std::int64_t heap_bytes() const;
  std::uint64_t late_responses() const { return late_responses_; }
  std::uint64_t orphan_responses() const { return orphans_; }
  // Marks every exchange of the connection from now on (e.g. picked up mid-stream).
  void add_anomaly(std::uint32_t bits);
  // Marks only the exchanges open now (e.g. retransmissions disagreed under them).
  void mark_open(std::uint32_t bits);

  void on_message_begin(MessageKind kind, HttpMessage& msg) override;
  BodyMode on_headers_complete(MessageKind kind, HttpMessage& msg) override;
  void on_message_complete(MessageKind kind, HttpMessage&& msg) override;
  void on_message_aborted(MessageKind kind, HttpMessage&& msg, AbortReason reason,
                          std::string_view detail) override;

 private:
  struct Pending {
    // Declared so that std::optional<Pending> inside Pairer is constructible for clang
    // (default member initializers of a nested class are otherwise not yet usable there).
    Pending() {}  // NOLINT(modernize-use-equals-default)
    std::optional<HttpMessage> request;
    std::optional<HttpMessage> response;
    std::vector<int> interim;
    std::string method;
    std::uint64_t request_offset = 0;
    Timestamp request_start;
    bool request_done = false;
    bool response_started = false;
    bool response_done = false;
    bool wants_upgrade = false;
    bool timed_out = false;        // already emitted as Timeout; a placeholder now
    bool orphan = false;
    std::optional<Outcome> forced; // ParseError
    std::string detail;
    std::uint32_t anomalies = 0;
  };

  Pending* response_candidate();
  void emit(Pending& p, Outcome outcome);
  void emit_ready();

  Context ctx_;
  ExchangeHandler& out_;
  HttpParser* request_parser_ = nullptr;
  std::deque<Pending> pending_;
  Pending* request_target_ = nullptr;   // request being parsed
  Pending* response_target_ = nullptr;  // request whose final response is being parsed
  std::optional<Pending> orphan_;       // response being parsed that answers nothing seen
  bool interim_in_progress_ = false;
  std::uint64_t server_ack_ = 0;
  bool have_server_ack_ = false;
  std::uint32_t next_index_ = 0;
  std::uint32_t shared_anomalies_ = 0;
  std::uint64_t late_responses_ = 0;
  std::uint64_t orphans_ = 0;
  // heap_bytes(), kept until an entry point that may change it marks it stale.
  mutable std::int64_t held_bytes_ = 0;
  mutable bool held_changed_ = true;
};

}  // namespace offpath
