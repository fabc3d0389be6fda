// Decoder: turns a captured frame into a TCP Segment, or says why not. Handles the link
// types of source.hpp (Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, raw IP, BSD
// loopback), IPv4 with options, IPv6 with extension headers, and TCP with options. Every
// length is checked before it is read; a malformed packet is an outcome, never a crash.
// Called on the capture thread; stateless apart from its counters.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "capture/source.hpp"
#include "decode/segment.hpp"

namespace offpath {

enum class DecodeOutcome : std::uint8_t {
  Tcp = 0,           // a TCP segment was decoded
  UnsupportedLink,   // link type we do not decode
  NotIp,             // ARP, LLDP, ... (not IPv4/IPv6)
  NotTcp,            // UDP, ICMP, ...
  Fragment,          // IPv4 fragment or IPv6 fragment header: skipped
  Truncated,         // the capture cut a header short
  BadLinkHeader,     // link header inconsistent
  BadIpHeader,       // bad version, header length or total length
  BadTcpHeader,      // data offset out of range
  kCount
};

std::string_view to_string(DecodeOutcome outcome);

class Decoder {
 public:
  DecodeOutcome decode(const Frame& frame, Segment& out);

  // How many frames ended with each outcome.
  const std::array<std::uint64_t, static_cast<std::size_t>(DecodeOutcome::kCount)>& counts()
      const {
    return counts_;
  }

 private:
  DecodeOutcome decode_uncounted(const Frame& frame, Segment& out) const;
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeOutcome::kCount)> counts_{};
};

}  // namespace offpath
