// Join evidence: what says that an upstream-leg exchange served a client-leg exchange.
// Strongest first: a shared request id (--join-header NAME, X-Request-ID,
// X-Correlation-ID, traceparent's trace-id); else timing (the upstream request starts
// after the client request's headers were complete and before the client response
// starts), the same method and a URI that is equal or that the
// gateway rewrote by a prefix swap (/api/x -> /v1/x), given by the user or learned from
// joined pairs (PrefixRewrites). Pure functions and one table; join thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exchange/exchange.hpp"

namespace offpath {

// The request id of an exchange: the header named `join_header` (lower case; empty =
// none) first, then X-Request-ID, X-Correlation-ID, traceparent's trace-id; the request's
// headers before the response's. Empty if none.
std::string_view request_id(const Exchange& ex, std::string_view join_header);

// The upstream exchange `up` fits the timing of the client exchange `client`: it starts
// after the client request's headers were complete and before the client response
// starts, wherever it ends (a streamed body runs on beside the client's; an attempt that
// got its answer only after the client response started, see answered_late(), is one the
// gateway gave up on). Without a client response (the client went away), any attempt
// after the request fits.
bool timing_fits(const Exchange& client, const Exchange& up);
// `up` got its response only after `client`'s response started: a gateway needs the
// backend's status line before it answers, so for the gateway it went unanswered. So did
// an answer to a client that went away without any response (failure_origin.hpp): a
// gateway passes a response head on as it comes, so it came after the client left
// (nginx logs 499 and no upstream status).
bool answered_late(const Exchange& client, const Exchange& up);

// Prefix swaps a gateway applies to request targets: "/api" -> "/v1" turns "/api/x" into
// "/v1/x" (the rest of the target must start with '/' or '?', or be empty).
class PrefixRewrites {
 public:
  static constexpr std::size_t kMaxRewrites = 64;  // learned ones beyond are not kept

  // "FROM=TO" as given with --join-rewrite; false if malformed.
  bool add(std::string_view spec);
  void add(std::string from, std::string to);
  // Equal targets, or `up` is `client` with a known prefix swapped.
  bool fits(std::string_view client, std::string_view up) const;
  // The prefix swap that turns `client` into `up` (they differ only before a common
  // tail starting at '/' or '?'), if there is one. Does not learn it.
  static bool swap_of(std::string_view client, std::string_view up, std::string& from,
                      std::string& to);
  // Learns the swap between two targets of a joined pair; true if it was new.
  bool learn(std::string_view client, std::string_view up);
  std::size_t size() const { return rewrites_.size(); }
  // The targets the known swaps make of a client target (`upstream` true), or the client
  // targets they make an upstream target of (false); the target itself not included.
  void swapped(std::string_view target, bool upstream, std::vector<std::string>& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> rewrites_;
};

}  // namespace offpath
