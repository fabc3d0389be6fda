// FlowKey: the 5-tuple of a TCP connection in canonical order (lower endpoint first), so
// that both directions of a connection map to the same key and the same hash. The hash
// picks the worker that owns the flow. Pure value; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "decode/ip_address.hpp"
#include "decode/segment.hpp"

namespace offpath {

struct Endpoint {
  IpAddress addr;
  std::uint16_t port = 0;

  auto operator<=>(const Endpoint&) const = default;
  bool operator==(const Endpoint&) const = default;

  // "10.0.0.1:80" or "[fd00::1]:80".
  std::string to_string() const;
};

// Which endpoint of the canonical key sent a segment.
enum class Side : std::uint8_t { Lo = 0, Hi = 1 };

inline Side other(Side s) { return s == Side::Lo ? Side::Hi : Side::Lo; }

struct FlowKey {
  Endpoint lo;
  Endpoint hi;

  // The key of a segment's connection, and which side of it sent the segment.
  static FlowKey of(const Segment& seg, Side& sender);

  const Endpoint& endpoint(Side s) const { return s == Side::Lo ? lo : hi; }
  bool operator==(const FlowKey&) const = default;
  // Per packet: the flow table's index and the choice of worker.
  std::size_t hash() const;
  // Slower, and fixed across versions: connection ids are built from it.
  std::uint64_t id_hash() const;
};

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const { return k.hash(); }
};

}  // namespace offpath
