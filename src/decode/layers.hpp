// Internal to the decode module: the walk from one layer to the next. Each function
// reads one header, counts it if it is an encapsulation, and calls the function of the
// layer it carries, until a TCP segment or an outcome. Capture thread (via Decoder).
#pragma once

#include <bitset>
#include <cstdint>

#include "common/bytes.hpp"
#include "decode/decoder.hpp"

namespace offpath::layers {

inline constexpr std::uint16_t kEtherIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherIpv6 = 0x86DD;
inline constexpr std::uint16_t kEtherByVersion = 0;  // read the version nibble

// The state of one frame's walk through its layers.
struct Walk {
  Segment& out;
  EncapCounts& encap;
  IpDefragmenter& defrag;
  Timestamp ts;
  const std::bitset<65536>* inner_ports = nullptr;  // Decoder::set_inner_ports
  int depth = 0;
  bool reassembled = false;  // the segment comes from reassembled fragments

  // Counts an outer layer of `kind`; false when the frame is nested too deep.
  bool enter(EncapKind kind) {
    ++encap[static_cast<std::size_t>(kind)];
    return ++depth <= kMaxEncapDepth;
  }
};

// tunnels.cpp
DecodeOutcome ethernet(Walk& w, ByteView b);
DecodeOutcome ethertype(Walk& w, std::uint16_t type, ByteView b);
// The payload of an IP packet whose protocol is not TCP: a tunnel, or NotTcp.
DecodeOutcome ip_payload(Walk& w, std::uint8_t protocol, bool outer_v6, ByteView b);

// decoder.cpp
DecodeOutcome ipv4(Walk& w, ByteView b);
DecodeOutcome ipv6(Walk& w, ByteView b);

}  // namespace offpath::layers
