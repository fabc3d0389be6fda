// Decoder: turns a captured frame into a TCP Segment, or says why not. Handles the link
// types of source.hpp (Ethernet with 802.1Q/802.1ad tags and 802.2 LLC/SNAP, Linux SLL
// and SLL2, raw IP, BSD loopback, NFLOG), IPv4 with options, IPv6 with extension
// headers, and TCP with options; and, between them, the encapsulations of tunnels.cpp
// (MPLS, PPPoE, GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP, Teredo). The segment is the
// innermost IP/TCP; outer layers are counted by kind and otherwise ignored. IP fragments
// go to an IpDefragmenter and the reassembled datagram is decoded in their place.
// Every length is checked before it is read; a malformed packet is an outcome, never a
// crash. Called on the capture thread; its only state is its counters and the pending
// fragments. A segment's payload is valid until the next call to decode().
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "capture/source.hpp"
#include "decode/ip_defragmenter.hpp"
#include "decode/segment.hpp"

namespace offpath {

enum class DecodeOutcome : std::uint8_t {
  Tcp = 0,           // a TCP segment was decoded
  UnsupportedLink,   // link type we do not decode
  NotIp,             // ARP, LLDP, ... (not IPv4/IPv6)
  NotTcp,            // UDP (other than a tunnel port), ICMP, ...
  Fragment,          // IP fragment held for reassembly, or dropped (see DefragCounters)
  Truncated,         // the capture cut a header short
  BadLinkHeader,     // link header inconsistent
  BadIpHeader,       // bad version, header length or total length
  BadTcpHeader,      // data offset out of range
  BadEncapHeader,    // a tunnel or encapsulation header inconsistent
  EncapTooDeep,      // more than kMaxEncapDepth nested encapsulations
  InnerPortFiltered, // a tunnelled or reassembled segment on none of set_inner_ports()
  kCount
};

std::string_view to_string(DecodeOutcome outcome);

// Outer layers, counted once per frame and layer they wrap.
enum class EncapKind : std::uint8_t {
  Vlan = 0,  // 802.1Q / 802.1ad tag
  Mpls,      // MPLS label stack
  Pppoe,     // PPPoE session
  LlcSnap,   // 802.2 LLC with a SNAP header
  Gre,
  Erspan,    // ERSPAN type I, II or III (inside GRE)
  Vxlan,     // UDP 4789
  Geneve,    // UDP 6081
  Gtpu,      // UDP 2152
  Ipip,      // IPv4 in IPv4
  Ip6in4,    // IPv6 in IPv4 (protocol 41)
  Ip4in6,    // IPv4 in IPv6
  Ip6in6,    // IPv6 in IPv6
  Teredo,    // IPv6 in UDP 3544
  kCount
};

std::string_view to_string(EncapKind kind);

// Nested encapsulations (VLAN tags included) beyond which a frame is EncapTooDeep.
inline constexpr int kMaxEncapDepth = 8;

using DecodeCounts = std::array<std::uint64_t, static_cast<std::size_t>(DecodeOutcome::kCount)>;
using EncapCounts = std::array<std::uint64_t, static_cast<std::size_t>(EncapKind::kCount)>;

class Decoder {
 public:
  Decoder() = default;
  explicit Decoder(const IpDefragmenter::Limits& fragment_limits) : defrag_(fragment_limits) {}

  DecodeOutcome decode(const Frame& frame, Segment& out);

  // Server ports (--port) that a segment from inside a tunnel or from reassembled
  // fragments must have on one side: the capture filter (libpcap's, or the eBPF
  // program's, which passes such frames unfiltered) could only see the outer headers.
  // Plain TCP frames were filtered by the capture. Empty: no filter. Start-up only.
  void set_inner_ports(const std::vector<std::uint16_t>& ports);

  // How many frames ended with each outcome.
  const DecodeCounts& counts() const { return counts_; }
  // How many outer layers of each kind were met.
  const EncapCounts& encap_counts() const { return encap_; }
  // What became of the IP fragments; pending datagrams at this moment.
  DefragCounters fragment_counts() const { return defrag_.counters(); }
  std::size_t fragments_pending() const { return defrag_.pending(); }

 private:
  DecodeCounts counts_{};
  EncapCounts encap_{};
  IpDefragmenter defrag_;
  std::unique_ptr<std::bitset<65536>> inner_ports_;  // null: no filter
};

}  // namespace offpath
