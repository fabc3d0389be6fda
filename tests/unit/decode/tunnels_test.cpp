// Encapsulations: every tunnel and link wrapping of tunnels.cpp decodes to the inner
// TCP segment (the innermost addresses and ports, the exact payload) and counts each
// outer layer by kind; malformed or unsupported tunnel headers end with their named
// outcome; nesting is bounded; every cut of every wrapped frame is a clean outcome.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "decode/decoder.hpp"
#include "support/packet_builder.hpp"
#include "support/tunnel_frames.hpp"
#include "unit/decode/print_outcome.hpp"

namespace offpath {

namespace {

using testing::Bytes;
using testing::Packet;
using testing::PacketBuilder;
using testing::cat;
using testing::over_ipv4;
using testing::udp_over_ipv4;
using testing::eth_header;
using testing::outer_ipv6;
using testing::put16;
using testing::put32;
using testing::put8;

constexpr std::uint8_t kPshAck = tcp_flags::kPsh | tcp_flags::kAck;
constexpr const char* kPayload = "GET / HTTP/1.1\r\n\r\n";

Bytes inner_v4() {
  return PacketBuilder().raw().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, 1000, 2000, kPshAck)
      .payload(kPayload).build().data;
}
Bytes inner_v6() {
  return PacketBuilder().raw().ipv6("fd00::1", "fd00::2").tcp(40000, 80, 1000, 2000, kPshAck)
      .payload(kPayload).build().data;
}

// A GRE header with these flags and protocol, followed by `words` optional 4-byte words.
Bytes gre(std::uint16_t flags, std::uint16_t type, unsigned words) {
  Bytes b;
  put16(b, flags);
  put16(b, type);
  for (unsigned i = 0; i < words; ++i) put32(b, 0x11223344);
  return b;
}

struct TunnelCase {
  const char* description;
  LinkType link;
  Bytes frame;
  std::vector<std::pair<EncapKind, std::uint64_t>> kinds;
  bool v6 = false;  // inner addresses are IPv6
};

Packet packet(LinkType link, Bytes data) {
  Packet p;
  p.link = link;
  p.data = std::move(data);
  return p;
}

std::vector<TunnelCase> tunnel_cases() {
  const Bytes v4 = inner_v4();
  const Bytes v6 = inner_v6();
  const Bytes inner_eth = cat({eth_header(0x0800), v4});
  const Bytes mpls2 = {0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40};  // two labels, S on the 2nd
  const Bytes mpls1 = {0x00, 0x01, 0x01, 0x40};
  const Bytes snap = {0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00};
  Bytes llc_frame(12, 0x02);
  put16(llc_frame, static_cast<unsigned>(snap.size() + v4.size()));
  const Bytes pppoe = {0x11, 0x00, 0x00, 0x2a, 0x00, static_cast<std::uint8_t>(2 + v4.size()), 0x00, 0x21};
  const Bytes pppoe_pfc = {0x11, 0x00, 0x00, 0x2a, 0x00, static_cast<std::uint8_t>(1 + v4.size()), 0x21};
  const Bytes erspan2 = {0x10, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01};
  Bytes erspan3 = {0x20, 0x01, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 0x01};  // O set: 8 more bytes
  erspan3.insert(erspan3.end(), 8, 0xEE);
  const Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 42, 0};
  const Bytes geneve_eth = {0x02, 0x00, 0x65, 0x58, 0, 0, 43, 0, 0x01, 0x02, 0x80, 0x01, 'O', 'P', 'T', '1'};
  const Bytes geneve_ip = {0x00, 0x00, 0x08, 0x00, 0, 0, 43, 0};
  // GTP-U G-PDU with E set and one 4-byte extension header (PDU session container).
  const Bytes gtpu = {0x34, 0xFF, 0x00, 0x00, 0, 0, 1, 0, 0x00, 0x00, 0x00, 0x85,
                      0x01, 0x10, 0x09, 0x00};
  // Indicator 0x0001, client ID length 2, authentication length 1, ID, value, nonce,
  // confirmation byte.
  const Bytes teredo_auth = {0x00, 0x01, 2, 1, 'i', 'd', 0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 0};
  const Bytes teredo_origin = {0x00, 0x00, 0x9c, 0x40, 0x3f, 0xff, 0xfd, 0xfe};
  Bytes nflog = {2, 0, 0, 0};
  put8(nflog, 8);  // NFULA_PACKET_HDR, little-endian length and type
  put8(nflog, 0);
  put8(nflog, 1);
  put8(nflog, 0);
  put32(nflog, 0x08000300);
  put8(nflog, static_cast<unsigned>((4 + v4.size()) & 0xFF));
  put8(nflog, static_cast<unsigned>((4 + v4.size()) >> 8));
  put8(nflog, 9);  // NFULA_PAYLOAD
  put8(nflog, 0);
  nflog = cat({nflog, v4});
  using K = EncapKind;
  return {
      {"MPLS two labels, IPv4", LinkType::Ethernet, cat({eth_header(0x8847), mpls2, v4}), {{K::Mpls, 1}}},
      {"MPLS pseudowire: control word, Ethernet", LinkType::Ethernet,
       cat({eth_header(0x8847), mpls1, Bytes(4, 0), inner_eth}), {{K::Mpls, 1}}},
      {"MPLS over SLL2", LinkType::LinuxSll2,
       cat({Bytes{0x88, 0x47, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 4, 4, 4, 4, 4, 4, 0, 0}, mpls1, v6}),
       {{K::Mpls, 1}}, true},
      {"PPPoE session, PPP IPv4", LinkType::Ethernet, cat({eth_header(0x8864), pppoe, v4}), {{K::Pppoe, 1}}},
      {"PPPoE session, compressed PPP protocol", LinkType::Ethernet, cat({eth_header(0x8864), pppoe_pfc, v4}),
       {{K::Pppoe, 1}}},
      {"802.2 LLC/SNAP", LinkType::Ethernet, cat({llc_frame, snap, v4}), {{K::LlcSnap, 1}}},
      {"VLAN then LLC/SNAP", LinkType::Ethernet,
       cat({eth_header(0x8100), Bytes{0x00, 0x05}, Bytes{0x00, static_cast<std::uint8_t>(8 + v4.size())}, snap, v4}),
       {{K::Vlan, 1}, {K::LlcSnap, 1}}},
      {"GRE IPv4", LinkType::Ethernet, cat({eth_header(0x0800), over_ipv4(47, cat({gre(0, 0x0800, 0), v4}))}),
       {{K::Gre, 1}}},
      {"GRE checksum, key, sequence", LinkType::Ethernet,
       cat({eth_header(0x0800), over_ipv4(47, cat({gre(0xB000, 0x0800, 3), v4}))}), {{K::Gre, 1}}},
      {"GRE transparent Ethernet bridging", LinkType::Ethernet,
       cat({eth_header(0x0800), over_ipv4(47, cat({gre(0x2000, 0x6558, 1), inner_eth}))}), {{K::Gre, 1}}},
      {"ERSPAN type I", LinkType::Ethernet,
       cat({eth_header(0x0800), over_ipv4(47, cat({gre(0, 0x88BE, 0), inner_eth}))}),
       {{K::Gre, 1}, {K::Erspan, 1}}},
      {"ERSPAN type II", LinkType::Ethernet,
       cat({eth_header(0x0800), over_ipv4(47, cat({gre(0x1000, 0x88BE, 1), erspan2, inner_eth}))}),
       {{K::Gre, 1}, {K::Erspan, 1}}},
      {"ERSPAN type III with platform subheader", LinkType::Ethernet,
       cat({eth_header(0x0800), over_ipv4(47, cat({gre(0x1000, 0x22EB, 1), erspan3, inner_eth}))}),
       {{K::Gre, 1}, {K::Erspan, 1}}},
      {"VXLAN", LinkType::Ethernet, cat({eth_header(0x0800), udp_over_ipv4(50000, 4789, cat({vxlan, inner_eth}))}),
       {{K::Vxlan, 1}}},
      {"VXLAN carrying a VLAN-tagged frame", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(50000, 4789, cat({vxlan, eth_header(0x8100), Bytes{0, 7, 0x08, 0x00}, v4}))}),
       {{K::Vxlan, 1}, {K::Vlan, 1}}},
      {"Geneve with an option, Ethernet", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(50000, 6081, cat({geneve_eth, inner_eth}))}), {{K::Geneve, 1}}},
      {"Geneve carrying IPv4", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(50000, 6081, cat({geneve_ip, v4}))}), {{K::Geneve, 1}}},
      {"GTP-U with an extension header", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(2152, 2152, cat({gtpu, v4}))}), {{K::Gtpu, 1}}},
      {"IPv4 in IPv4", LinkType::Ethernet, cat({eth_header(0x0800), over_ipv4(4, v4)}), {{K::Ipip, 1}}},
      {"IPv6 in IPv4", LinkType::Raw, over_ipv4(41, v6), {{K::Ip6in4, 1}}, true},
      {"IPv4 in IPv6", LinkType::Ethernet, cat({eth_header(0x86DD), outer_ipv6(4, v4.size()), v4}),
       {{K::Ip4in6, 1}}},
      {"IPv6 in IPv6", LinkType::Raw, cat({outer_ipv6(41, v6.size()), v6}), {{K::Ip6in6, 1}}, true},
      {"Teredo with authentication and origin indication", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(3544, 40000, cat({teredo_auth, teredo_origin, v6}))}),
       {{K::Teredo, 1}}, true},
      {"Teredo with origin indication", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(3544, 40000, cat({teredo_origin, v6}))}), {{K::Teredo, 1}}, true},
      {"IPv4 in IPv4 in GRE in VXLAN", LinkType::Ethernet,
       cat({eth_header(0x0800), udp_over_ipv4(50000, 4789, cat({vxlan, eth_header(0x0800),
                                                  over_ipv4(47, cat({gre(0, 0x0800, 0), over_ipv4(4, v4)}))}))}),
       {{K::Vxlan, 1}, {K::Gre, 1}, {K::Ipip, 1}}},
      {"NFLOG", LinkType::Nflog, nflog, {}},
  };
}

TEST(Tunnels, EveryEncapsulationDecodesTheInnerSegmentAndCountsItsLayers) {
  for (const TunnelCase& c : tunnel_cases()) {
    SCOPED_TRACE(c.description);
    Decoder d;
    Segment seg;
    const Packet p = packet(c.link, c.frame);  // the segment's payload points into it
    ASSERT_EQ(d.decode(p.frame(), seg), DecodeOutcome::Tcp);
    EXPECT_EQ(seg.src.to_string(), c.v6 ? "fd00::1" : "10.0.0.1");
    EXPECT_EQ(seg.dst.to_string(), c.v6 ? "fd00::2" : "10.0.0.2");
    EXPECT_EQ(seg.src_port, 40000);
    EXPECT_EQ(seg.dst_port, 80);
    EXPECT_EQ(seg.seq, 1000u);
    EXPECT_EQ(as_chars(seg.payload), kPayload);
    EncapCounts want{};
    for (const auto& [kind, n] : c.kinds) want[static_cast<std::size_t>(kind)] = n;
    EXPECT_EQ(d.encap_counts(), want);
  }
}

// Every prefix of every wrapped frame ends with an outcome and never reads past the cut
// (each prefix is a fresh heap buffer of exactly that size, for ASan).
TEST(Tunnels, EveryCutOfEveryWrappedFrameIsAnOutcome) {
  for (const TunnelCase& c : tunnel_cases()) {
    for (std::size_t n = 0; n < c.frame.size(); ++n) {
      SCOPED_TRACE(std::string(c.description) + " cut to " + std::to_string(n));
      Bytes exact(c.frame.begin(), c.frame.begin() + static_cast<std::ptrdiff_t>(n));
      Packet p = packet(c.link, exact);
      Frame f = p.frame();
      f.bytes = ByteView(exact);
      Decoder d;
      Segment seg;
      const DecodeOutcome o = d.decode(f, seg);
      if (o == DecodeOutcome::Tcp) {
        EXPECT_LE(seg.payload.size(), seg.payload_len);
        EXPECT_LE(seg.payload.data() + seg.payload.size(), exact.data() + exact.size());
      }
    }
  }
}

struct BadCase {
  const char* description;
  LinkType link;
  Bytes frame;
  DecodeOutcome expected;
};

Bytes nested_ipip(int layers) {
  Bytes b = inner_v4();
  for (int i = 0; i < layers; ++i) b = over_ipv4(4, b);
  return b;
}

std::vector<BadCase> bad_cases() {
  const Bytes v4 = inner_v4();
  const Bytes inner_eth = cat({eth_header(0x0800), v4});
  Bytes mpls_no_bottom;
  for (int i = 0; i < 9; ++i) mpls_no_bottom.insert(mpls_no_bottom.end(), {0, 1, 0, 64});
  return {
      {"UDP to another port stays not_tcp", LinkType::Raw, udp_over_ipv4(50000, 53, Bytes(20, 0)),
       DecodeOutcome::NotTcp},
      {"VXLAN without the I flag", LinkType::Raw,
       udp_over_ipv4(50000, 4789, cat({Bytes{0, 0, 0, 0, 0, 0, 42, 0}, inner_eth})), DecodeOutcome::BadEncapHeader},
      {"Geneve version 1", LinkType::Raw,
       udp_over_ipv4(50000, 6081, cat({Bytes{0x40, 0, 0x65, 0x58, 0, 0, 1, 0}, inner_eth})),
       DecodeOutcome::BadEncapHeader},
      {"Geneve options longer than the packet", LinkType::Raw,
       udp_over_ipv4(50000, 6081, Bytes{0x3F, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 3, 4}), DecodeOutcome::Truncated},
      {"GTP-U echo request", LinkType::Raw, udp_over_ipv4(2152, 2152, Bytes{0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}),
       DecodeOutcome::NotTcp},
      {"GTP version 2 on the GTP-U port", LinkType::Raw,
       udp_over_ipv4(2152, 2152, cat({Bytes{0x50, 0xFF, 0, 0, 0, 0, 0, 0}, v4})), DecodeOutcome::BadEncapHeader},
      {"GRE version 1 (PPTP)", LinkType::Raw, over_ipv4(47, cat({gre(0x3001, 0x880B, 2), v4})),
       DecodeOutcome::NotTcp},
      {"GRE with the routing bit", LinkType::Raw, over_ipv4(47, cat({gre(0x4000, 0x0800, 0), v4})),
       DecodeOutcome::BadEncapHeader},
      {"GRE carrying ARP", LinkType::Raw, over_ipv4(47, cat({gre(0, 0x0806, 0), Bytes(28, 0)})),
       DecodeOutcome::NotIp},
      {"ERSPAN II with version 2", LinkType::Raw,
       over_ipv4(47, cat({gre(0x1000, 0x88BE, 1), Bytes{0x20, 0, 0, 0, 0, 0, 0, 0}, inner_eth})),
       DecodeOutcome::BadEncapHeader},
      {"MPLS stack without bottom in 8 labels", LinkType::Ethernet, cat({eth_header(0x8847), mpls_no_bottom, v4}),
       DecodeOutcome::BadEncapHeader},
      {"MPLS payload with IP version 5", LinkType::Ethernet,
       cat({eth_header(0x8847), Bytes{0, 1, 1, 64, 0x50, 0, 0, 0}}), DecodeOutcome::BadEncapHeader},
      {"PPPoE code not session data", LinkType::Ethernet,
       cat({eth_header(0x8864), Bytes{0x11, 0x09, 0, 1, 0, 2, 0, 0x21}, v4}), DecodeOutcome::BadEncapHeader},
      {"PPPoE carrying LCP", LinkType::Ethernet, cat({eth_header(0x8864), Bytes{0x11, 0, 0, 1, 0, 6, 0xC0, 0x21, 1, 1, 0, 4}}),
       DecodeOutcome::NotIp},
      {"LLC without SNAP (STP)", LinkType::Ethernet, cat({eth_header(0x0026), Bytes{0x42, 0x42, 0x03}, Bytes(35, 0)}),
       DecodeOutcome::NotIp},
      {"Teredo bubble without IPv6", LinkType::Raw, udp_over_ipv4(3544, 40000, Bytes(12, 0)), DecodeOutcome::NotTcp},
      {"8 nested IP-in-IP layers", LinkType::Raw, nested_ipip(8), DecodeOutcome::Tcp},
      {"9 nested IP-in-IP layers", LinkType::Raw, nested_ipip(9), DecodeOutcome::EncapTooDeep},
      {"NFLOG version 1", LinkType::Nflog, Bytes{2, 1, 0, 0}, DecodeOutcome::BadLinkHeader},
      {"NFLOG TLV length below 4", LinkType::Nflog, Bytes{2, 0, 0, 0, 2, 0, 9, 0}, DecodeOutcome::BadLinkHeader},
      {"NFLOG without payload TLV", LinkType::Nflog, Bytes{2, 0, 0, 0, 8, 0, 1, 0, 8, 0, 3, 0},
       DecodeOutcome::NotIp},
      {"NFLOG family not IP", LinkType::Nflog, cat({Bytes{7, 0, 0, 0, 8, 0, 9, 0}, Bytes(4, 0)}),
       DecodeOutcome::NotIp},
  };
}

TEST(Tunnels, MalformedAndUnsupportedHeadersEndWithTheirOutcome) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.description);
    Decoder d;
    Segment seg;
    EXPECT_EQ(d.decode(packet(c.link, c.frame).frame(), seg), c.expected);
  }
}

// --port reaches the inner segment of a tunnel; plain TCP frames were filtered by the
// capture and are left alone.
TEST(Tunnels, InnerPortFilterAppliesToTunnelledSegmentsOnly) {
  const Bytes v4 = inner_v4();  // 40000 -> 80
  const Packet vxlan = packet(LinkType::Raw, udp_over_ipv4(50000, 4789,
                                  cat({Bytes{0x08, 0, 0, 0, 0, 0, 42, 0}, eth_header(0x0800), v4})));
  const Packet plain = packet(LinkType::Raw, v4);
  Decoder d;
  Segment seg;
  d.set_inner_ports({8080, 443});
  EXPECT_EQ(d.decode(vxlan.frame(), seg), DecodeOutcome::InnerPortFiltered);
  EXPECT_EQ(d.decode(plain.frame(), seg), DecodeOutcome::Tcp);
  d.set_inner_ports({80});
  EXPECT_EQ(d.decode(vxlan.frame(), seg), DecodeOutcome::Tcp);
  d.set_inner_ports({40000});  // either side's port
  EXPECT_EQ(d.decode(vxlan.frame(), seg), DecodeOutcome::Tcp);
  d.set_inner_ports({});
  EXPECT_EQ(d.decode(vxlan.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(d.counts()[static_cast<std::size_t>(DecodeOutcome::InnerPortFiltered)], 1u);
}

TEST(Tunnels, KindNames) {
  EXPECT_EQ(to_string(EncapKind::Vxlan), "vxlan");
  EXPECT_EQ(to_string(EncapKind::Ip6in4), "ip6in4");
  EXPECT_EQ(to_string(EncapKind::LlcSnap), "llc_snap");
  EXPECT_EQ(to_string(DecodeOutcome::EncapTooDeep), "encap_too_deep");
  EXPECT_EQ(to_string(DecodeOutcome::BadEncapHeader), "bad_encap_header");
  for (std::size_t i = 0; i < static_cast<std::size_t>(EncapKind::kCount); ++i) {
    EXPECT_NE(to_string(static_cast<EncapKind>(i)), "unknown");
  }
}

}  // namespace
}  // namespace offpath
