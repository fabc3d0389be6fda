// Pairer: turns the messages of both directions of one connection into Exchanges.
// Requests queue in order (HTTP/1.1 pipelining); each final response completes the
// oldest request that has none (Zeek's unanswered_requests). 1xx interim responses are
// recorded on that request, never paired as final. The pairer tells the response parser
// when no body follows (HEAD) and when the connection leaves HTTP (101, CONNECT 2xx).
//
// Alignment after loss, from the TCP acknowledgements of both sides (pairing is FIFO
// unless a gap says otherwise):
//  - a response can only answer a request whose first byte the server had acknowledged
//    when the response began; when the oldest open request starts beyond that, the
//    request answered was lost: the response is an orphan (with `gap` after a client gap);
//  - a client gap after a complete request that the server acknowledged before the
//    response began means the server received a request we lost after that one: a
//    request is answered in order, so its own response was lost too (emitted without a
//    response, `gap`) and the response answers the lost one (orphan);
//  - a server gap that may hide response starts marks every unanswered request `gap`
//    (its response may be in the hole). After it (or a server stream picked up
//    mid-stream, responses_may_be_lost()), the oldest open request's response was
//    lost when the server had the next request before the response began, and that
//    request was sent after the client had read more of the server's stream than when it
//    sent the oldest (it had read a response, which we lost) or, when either
//    acknowledgement is unknown, in any case (one request at a time, as nearly all clients
//    send): the response answers the later request. Requests sent together with the same
//    acknowledgement (pipelined) pair in order and keep the `gap` mark;
//  - a gap that hid whole exchanges and marked no record so far marks the next request
//    (or orphan response).
//
// Lifecycle: an exchange is emitted when its request and its final response have both
// ended (or been aborted). A 101 to `Upgrade: h2c` makes no exchange of its own: its
// request is handed to HTTP/2 as stream 1 (take_h2c_upgrade), and is emitted with the 101
// (anomaly upgraded) only if the connection ends before any HTTP/2 byte. close() emits
// every open request with the outcome given (reset, closed, capture ended, timeout,
// evicted). Owned by one connection; worker thread.
#pragma once

#include <algorithm>
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
  // The roles of a connection picked up mid-stream were guessed wrong (no message yet).
  void set_endpoints(const Endpoint& client, const Endpoint& server) {
    ctx_.client = client;
    ctx_.server = server;
  }
  // Highest client-stream offset the server has acknowledged (from server segments).
  void set_server_ack(std::uint64_t offset) {
    if (!have_server_ack_ || offset > server_ack_) server_ack_ = offset;
    have_server_ack_ = true;
  }
  // Server-stream offset the client acknowledged in the segment whose bytes are parsed
  // next; forget_client_ack() once they are (bytes held out of order and parsed later
  // were sent with an acknowledgement no longer known).
  void set_client_ack(std::uint64_t offset) {
    client_ack_ = std::max(client_ack_, offset);
    client_ack_known_ = true;
  }
  void forget_client_ack() { client_ack_known_ = false; }
  // A gap of the client (Request) or server (Response) stream starting at `offset`.
  // `may_hide_messages`: the gap was not wholly inside a body that parsing went on with,
  // so message starts may have been lost in it. Called after the parser saw the gap.
  void on_stream_gap(MessageKind kind, std::uint64_t offset, bool may_hide_messages);
  // The server's stream was picked up mid-stream: responses to requests seen may have
  // gone before it (the acknowledgements then say which, as after a gap).
  void responses_may_be_lost();

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
  // What a 101 to `Upgrade: h2c` leaves for stream 1 of the HTTP/2 connection: the
  // request that asked (when seen), the interim statuses with the 101, and the marks.
  struct H2cUpgrade {
    std::optional<HttpMessage> request;
    std::vector<int> interim;
    std::uint32_t anomalies = 0;
  };
  // A 101 switched the connection to HTTP/2 (`Upgrade: h2c`): true once, with what the
  // exchange that asked holds, which then makes no record here.
  bool take_h2c_upgrade(H2cUpgrade& up);
  // The index an exchange begun after those open now would get (an upgrade taken by
  // HTTP/2 gives its index to stream 1).
  std::uint32_t next_index() const {
    return next_index_ + static_cast<std::uint32_t>(pending_.size()) - (h2c_taken_ ? 1 : 0);
  }

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
    std::uint64_t client_ack = 0;   // server-stream bytes the client had when it began
    bool client_ack_known = false;
    std::uint64_t lost_after = 0;   // client-stream offset of a gap after its end...
    bool has_lost_after = false;    // ...when there was one
    bool response_may_be_lost = false;  // unanswered when a server gap hid message starts
    Timestamp request_start;
    bool request_done = false;
    bool response_started = false;
    bool response_done = false;
    bool wants_upgrade = false;
    bool h2c = false;              // answered 101 to `Upgrade: h2c`: waits for HTTP/2
    bool h2c_taken = false;        // ...which took its request: a placeholder now
    bool timed_out = false;        // already emitted as Timeout; a placeholder now
    bool orphan = false;
    std::optional<Outcome> forced; // ParseError
    std::string detail;
    std::uint32_t anomalies = 0;
  };

  Pending* response_candidate();
  Pending* next_candidate(const Pending& p);
  // The request a final response (or one aborted before its headers) answers, after
  // emitting the requests whose response was lost; nullptr: it answers none seen.
  Pending* choose_response_target(const HttpMessage& msg);
  bool response_lost_before(Pending& p, const HttpMessage& msg);
  Pending& start_orphan();
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
  std::uint64_t response_ack_ = 0;      // server_ack_ when the current response began
  bool have_response_ack_ = false;
  std::uint64_t client_ack_ = 0;
  bool client_ack_known_ = false;
  bool server_gap_ = false;             // the server's stream lost message starts since
                                        // the last response was paired
  bool client_gap_ = false;             // a client gap may have hidden requests
  bool unmarked_loss_ = false;          // a gap may have hidden exchanges no record marks
  std::uint32_t next_index_ = 0;
  bool h2c_taken_ = false;  // a pending entry is an upgrade taken by HTTP/2
  std::uint32_t shared_anomalies_ = 0;
  std::uint64_t late_responses_ = 0;
  std::uint64_t orphans_ = 0;
  // heap_bytes(), kept until an entry point that may change it marks it stale.
  mutable std::int64_t held_bytes_ = 0;
  mutable bool held_changed_ = true;
};

}  // namespace offpath
