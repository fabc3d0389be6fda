// Gateway addresses and the legs they make. A connection whose server is a gateway
// address is a client leg (client -> gateway); one whose client is a gateway address is
// an upstream leg (gateway -> backend). GatewaySet holds the addresses (--gateway, or
// what GatewayDetector found in a replay); GatewayDetector finds them in a capture: an
// address that is the server of some connections and the client of others.
// Built at start-up, then read-only (any thread); the detector runs on the start-up thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exchange/exchange.hpp"

namespace offpath {

// "10.0.0.1" or "fd00::1" -> the address; nullopt if it is neither.
std::optional<IpAddress> parse_ip_address(std::string_view text);

// The addresses of this host's interfaces (getifaddrs), loopback left out: what
// `--gateway local` stands for. Start-up thread.
std::vector<IpAddress> local_addresses();

class GatewaySet {
 public:
  void add(const IpAddress& addr) { addrs_.push_back(addr); }
  bool empty() const { return addrs_.empty(); }
  const std::vector<IpAddress>& addresses() const { return addrs_; }
  bool contains(const IpAddress& addr) const;
  // Client when the server is a gateway, else upstream when the client is one, else None.
  Leg leg_of(const Endpoint& client, const Endpoint& server) const;

 private:
  std::vector<IpAddress> addrs_;  // a handful: a linear search beats a hash
};

// Fed the (client, server) of each connection seen opening (its first SYN); detected()
// gives the addresses that served some connections and opened others, leaving out
// connections of an address to itself (loopback).
class GatewayDetector {
 public:
  static constexpr std::size_t kMaxAddresses = 65536;  // beyond: further addresses ignored
  void on_connection(const IpAddress& client, const IpAddress& server);
  std::vector<IpAddress> detected() const;

 private:
  std::set<IpAddress> clients_;
  std::set<IpAddress> servers_;
};

}  // namespace offpath
