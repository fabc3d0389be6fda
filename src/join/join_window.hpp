// JoinWindow: the join stage's pending state and its decisions. Fed every exchange of a
// gateway leg (client or upstream; see gateway_set.hpp) and the watermark (the packet
// time every worker has reached); hands each exchange on, once decided, to the next
// handler (classification and output) with its gateway view filled in:
//   - a client-leg exchange waits until the watermark passes its end by the settle time
//     (--join-settle), so that attempts emitted later still arrive (an attempt the gateway
//     gave up on is emitted only when its late answer or reset comes), then takes the
//     upstream attempts the evidence gives it (join_evidence.hpp), in order, and its
//     failure origin (failure_origin.hpp);
//   - an upstream-leg exchange waits for the client exchange it served; joined, it is not
//     handed on by itself (unless --legs upstream|all); still unjoined when the watermark
//     passes its end by the join window, it is handed on alone with "leg": "upstream".
// Connection attempts (a refused or unanswered connect: no request, no id, no target) are
// given to client exchanges by the order in which the gateway works. A gateway's event
// loop handles what happens to it first come, first served: each client request that
// arrives, and each attempt that fails, makes it act once (open a connection, send on a
// reused one, or answer the client). So once the watermark passes a connection attempt
// by the settle time, the attempt goes to the client exchange that was waiting for the
// gateway to act when its SYN left, and had waited longest. Waiting: its request arrived
// (headers complete) within kImmediateMicros before the SYN; the gateway had done nothing
// for it yet (no attempt, no response before the SYN), or its last action was a refused
// connect, or an attempt that had failed; and the gateway acts for it again within
// kImmediateMicros after the SYN (its next attempt, or its response: one it did nothing
// for that soon was not waiting on this SYN, or its attempts are not all known). The
// attempts of each client exchange are known from the evidence, so its first action is
// its first attempt's connection start (or request, on a reused connection). The choice
// is ambiguous (counted, the attempt left unjoined) when another waited since the same
// microsecond; when one waiting in the window has attempts that fit another client too;
// when the response follows with no attempt and is no failure (5xx); and when the chosen
// one waited on a failed attempt (its reset or close may have come after its last packet,
// so the time is only a lower bound) and another waited too, or its response follows.
// An attempt no client exchange was waiting for (a health check) stays unjoined; a health
// check whose SYN leaves between a request's arrival and the gateway's first action for it
// looks the same as a refused first try and is joined to it; a request on a connection
// the gateway has just accepted is read a loop turn later than its arrival says, so in a
// burst two requests' connects can swap. Cost: one look at the client exchanges that
// arrived within kImmediateMicros before the SYN (at most kMaxCandidates, else
// ambiguous), each a lookup of its attempts by id or target.
// Bounded: at most max_exchanges exchanges and max_bytes (estimated) bytes wait; beyond,
// the oldest is decided at once (counted as an overflow). Ambiguous evidence (an attempt
// that fits several client exchanges, attempts that overlap) is counted and left unjoined.
// Not thread-safe: one thread drives it (the capture thread with one worker, else under
// the pipeline's join lock).
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "exchange/classify.hpp"
#include "exchange/exchange.hpp"
#include "join/gateway_set.hpp"
#include "join/join_evidence.hpp"

namespace offpath {

struct JoinOptions {
  LegsMode legs = LegsMode::Joined;
  std::string join_header;                 // --join-header, lower case; empty = none
  PrefixRewrites rewrites;                 // --join-rewrite FROM=TO
  std::int64_t window_micros = 10'000'000; // --join-window: how long an attempt waits
  std::int64_t settle_micros = 3'000'000;  // --join-settle: how long a client exchange waits
  std::size_t max_exchanges = 65536;       // --join-max-pending
  std::uint64_t max_bytes = 64ull << 20;   // --join-max-bytes
};

struct JoinCounters {
  std::uint64_t joined = 0;              // client exchanges with at least one attempt
  std::uint64_t joined_upstream = 0;     // upstream exchanges attached to a client one
  std::uint64_t unjoined_client = 0;     // client exchanges without any attempt
  std::uint64_t unjoined_upstream = 0;   // upstream exchanges that joined nothing
  std::uint64_t ambiguous = 0;           // attempts left unjoined: fit several, or overlap
  std::uint64_t retries = 0;             // attempts beyond the first of a client exchange
  std::uint64_t rewrites_learned = 0;    // prefix swaps learned from joined pairs
  std::uint64_t overflows = 0;           // decided early: pending count or bytes at the limit
  std::uint64_t left_out = 0;            // not published because of --legs
  std::uint64_t pending = 0;             // exchanges waiting now (a gauge)
  std::uint64_t pending_bytes = 0;       // their estimated bytes (a gauge)
};

class JoinWindow {
 public:
  // `classify`: to know which client statuses are failures (failure origin).
  JoinWindow(JoinOptions options, ClassifyOptions classify, ExchangeHandler& out);
  // An exchange of a gateway leg; `leg` is not None.
  void on_exchange(Exchange&& ex, Leg leg, Timestamp watermark);
  // Decides what the watermark allows.
  void advance(Timestamp watermark);
  // End of the run: decides everything.
  void finish();
  const JoinCounters& counters() const { return counters_; }
  // Estimated bytes held (for a memory budget).
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct Pending;
  using It = std::list<Pending>::iterator;
  struct Pending {
    Exchange ex;
    std::string id;        // request id; empty if none
    std::uint64_t bytes = 0;
    std::vector<It> connects;  // a client: the connection attempts given to it, in order
    bool attempt_after = false;  // a client: the gateway tried again after its last connect
    Pending* owner = nullptr;  // a connection attempt: the client it was given to
  };
  // A client exchange as the gateway saw it when a connection attempt's SYN left.
  struct Waiting {
    bool waiting = false;  // it waited for the gateway to act
    bool unsure = false;   // its attempts are not known (one fits another client too)
    std::int64_t since = 0;  // what it waited on: its arrival, or its failed attempt's end
    bool since_exact = true;  // false: `since` is a lower bound (an attempt's last packet)
    std::int64_t next = 0;   // the gateway's next action for it: attempt or response
    bool next_is_response = false;
  };
  void decide_client(Pending& client);
  void expire_front_upstream();  // the oldest attempt leaves unjoined
  static constexpr std::int64_t kImmediateMicros = 10'000;
  static constexpr std::size_t kMaxConnectsPerExchange = 8;
  static constexpr std::size_t kMaxCandidates = 256;
  static constexpr std::int64_t kSameTimeMicros = 1;
  bool fits(const Pending& client, const Pending& up, bool learned_ok) const;
  // The attempts with a request that the evidence gives `client` (same id; else the same
  // method, fitting timing and target); `unsure` when one fits another client too.
  void real_attempts(const Pending& client, std::vector<It>& out, bool& unsure) const;
  Waiting waiting_at(const Pending& client, std::int64_t syn) const;
  // Gives the connection attempts whose SYN is at most `until` to client exchanges.
  void resolve_connects(std::int64_t until);
  void give_connect(It connect);
  void release_connects(Pending& client);  // back to unjoined (ambiguous)
  // Timing and method fit, and the targets differ by a prefix swap not known yet.
  bool swap_fits(const Pending& client, const Pending& up) const;
  bool fits_other_client(const Pending& client, const Pending& up) const;
  void emit_upstream(Exchange&& ex, bool joined);
  void shrink_to_limits();
  // Indexes of what waits, so that a decision looks up its candidates instead of
  // walking the window: attempts by target, by id and (connection attempts) by end
  // time, client exchanges by target and by arrival.
  void index_upstream(It u);
  void unindex_upstream(It u);
  void index_client(Pending& c);
  void unindex_client(Pending& c);

  JoinOptions options_;
  ClassifyOptions classify_;
  ExchangeHandler& out_;
  std::deque<Pending> clients_;   // in arrival order
  std::list<Pending> upstreams_;  // in arrival order; joined ones removed at once
  std::unordered_multimap<std::string_view, It> upstream_by_target_;
  std::unordered_multimap<std::string_view, It> upstream_by_id_;
  std::unordered_multimap<std::string_view, const Pending*> client_by_target_;
  std::multimap<std::int64_t, Pending*> client_by_arrival_;  // by headers complete
  std::multimap<std::int64_t, It> connect_by_end_;  // connection attempts not given yet
  std::vector<std::string> swapped_;  // scratch
  std::uint64_t bytes_ = 0;
  JoinCounters counters_;
};

// Estimated memory of an exchange held in the window.
std::uint64_t estimated_bytes(const Exchange& ex);

}  // namespace offpath
