// AutoGateways: the live default of the gateway view (`--gateway auto`, what a live capture
// without --gateway uses). This host's interface addresses are candidates, and they become
// gateway addresses, all at once, when the host has both served an HTTP exchange and opened
// one: it acts as a gateway then, whichever of its addresses face the clients and the
// backends (a gateway often has one of each). Until then exchanges are published as
// without the join, so a host that only serves (or only calls out) keeps its records as
// they were: no settle delay, no gateway fields. An exchange between two of the host's own
// addresses teaches nothing.
// Built at start-up; observe() is called by every worker's JoinFeed (any thread: the
// state is an atomic, and once confirmed it stays so).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "exchange/exchange.hpp"

namespace offpath {

class AutoGateways {
 public:
  explicit AutoGateways(std::vector<IpAddress> candidates) : candidates_(std::move(candidates)) {}
  bool empty() const { return candidates_.empty(); }
  // Notes what an exchange of `client` -> `server` says of the host (only an HTTP
  // exchange, one with a request, counts) and returns its leg once the host is confirmed.
  Leg observe(const Endpoint& client, const Endpoint& server, bool http);
  // Whether the host acts as a gateway: then other exchanges say "leg": null.
  bool confirmed() const { return seen_.load(std::memory_order_relaxed) == kBoth; }

 private:
  static constexpr std::uint8_t kServed = 1;
  static constexpr std::uint8_t kOpened = 2;
  static constexpr std::uint8_t kBoth = kServed | kOpened;
  bool is_candidate(const IpAddress& addr) const;
  void mark(std::uint8_t what);

  std::vector<IpAddress> candidates_;  // a handful: a linear search beats a hash
  std::atomic<std::uint8_t> seen_{0};
};

}  // namespace offpath
