// Byte-level pieces for building encapsulated frames in tests: concatenation, an
// Ethernet header, outer IPv4/IPv6 headers between tunnel endpoints (192.0.2.1 ->
// 192.0.2.2, 2001::1 -> 2001::2) and an outer IPv4/UDP datagram. Checksums are zero:
// the decoder does not read them. Test code only.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "support/packet_builder.hpp"

namespace offpath::testing {

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Destination and source MAC (02:02:...) and the ethertype (or 802.3 length).
inline Bytes eth_header(std::uint16_t type) {
  Bytes b(12, 0x02);
  put16(b, type);
  return b;
}

inline Bytes outer_ipv4(std::uint8_t proto, std::size_t payload_len) {
  Bytes b = {0x45, 0};
  put16(b, static_cast<unsigned>(20 + payload_len));
  put32(b, 0);
  put8(b, 64);
  put8(b, proto);
  put16(b, 0);
  put32(b, 0xC0000201);
  put32(b, 0xC0000202);
  return b;
}

inline Bytes outer_ipv6(std::uint8_t next, std::size_t payload_len) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<unsigned>(payload_len));
  put8(b, next);
  put8(b, 64);
  for (unsigned last : {1u, 2u}) {
    put16(b, 0x2001);
    for (int i = 0; i < 13; ++i) put8(b, 0);
    put8(b, last);
  }
  return b;
}

// An IPv4 packet carrying `payload` as protocol `proto`.
inline Bytes over_ipv4(std::uint8_t proto, const Bytes& payload) {
  return cat({outer_ipv4(proto, payload.size()), payload});
}

// An IPv4/UDP datagram from `sport` to `dport` carrying `payload`.
inline Bytes udp_over_ipv4(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes u;
  put16(u, sport);
  put16(u, dport);
  put16(u, static_cast<unsigned>(8 + payload.size()));
  put16(u, 0);
  return cat({outer_ipv4(17, 8 + payload.size()), u, payload});
}

}  // namespace offpath::testing
