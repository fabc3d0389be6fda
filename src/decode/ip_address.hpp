// An IPv4 or IPv6 address as decoded from a packet, comparable and hashable, with its
// textual form for records. Pure value; any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>

namespace offpath {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes, rest zero
  std::uint8_t version = 4;              // 4 or 6

  static IpAddress v4(const std::uint8_t* p);
  static IpAddress v6(const std::uint8_t* p);

  // Byte order of `bytes`, then version (as the defaulted comparison would), with two
  // 8-byte compares instead of a call to memcmp: every packet orders its two endpoints.
  std::strong_ordering operator<=>(const IpAddress& o) const {
    std::uint64_t a[2];
    std::uint64_t b[2];
    std::memcpy(a, bytes.data(), sizeof a);
    std::memcpy(b, o.bytes.data(), sizeof b);
    if (a[0] != b[0]) return __builtin_bswap64(a[0]) <=> __builtin_bswap64(b[0]);
    if (a[1] != b[1]) return __builtin_bswap64(a[1]) <=> __builtin_bswap64(b[1]);
    return version <=> o.version;
  }
  bool operator==(const IpAddress& o) const {
    std::uint64_t a[2];
    std::uint64_t b[2];
    std::memcpy(a, bytes.data(), sizeof a);
    std::memcpy(b, o.bytes.data(), sizeof b);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0 && version == o.version;
  }

  // "10.0.0.1" or "fd00::1" (RFC 5952 compressed form).
  std::string to_string() const;
};

}  // namespace offpath
