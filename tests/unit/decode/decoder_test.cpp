// Decoder: every supported link type and IP variant decodes to the exact segment fields;
// every unsupported or malformed frame ends with its named outcome; a valid frame cut at
// every byte length is Truncated until its headers are whole, and never read past.
#include "decode/decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/packet_builder.hpp"
#include "unit/decode/print_outcome.hpp"

namespace offpath {

namespace {

using testing::Bytes;
using testing::Packet;
using testing::PacketBuilder;

constexpr std::uint8_t kPshAck = tcp_flags::kPsh | tcp_flags::kAck;

struct TcpCase {
  const char* description;
  Packet packet;
  std::string src;
  std::string dst;
  std::size_t header_len;  // bytes before the TCP payload
};

PacketBuilder v4_tcp(PacketBuilder b) {
  return b.ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, 1000, 2000, kPshAck).payload("GET / HTTP/1.1\r\n\r\n");
}
PacketBuilder v6_tcp(PacketBuilder b) {
  return b.ipv6("fd00::1", "fd00::2").tcp(40000, 80, 1000, 2000, kPshAck).payload("GET / HTTP/1.1\r\n\r\n");
}

std::vector<TcpCase> tcp_cases() {
  const Bytes tcp_opts = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};  // MSS, NOP, NOP, SACK permitted
  return {
      {"ethernet ipv4", v4_tcp(PacketBuilder().eth()).build(), "10.0.0.1", "10.0.0.2", 14 + 20 + 20},
      {"ethernet 802.1Q", v4_tcp(PacketBuilder().eth().vlan(100)).build(), "10.0.0.1", "10.0.0.2",
       18 + 20 + 20},
      {"ethernet 802.1ad QinQ", v4_tcp(PacketBuilder().eth().vlan(100, 0x88A8).vlan(200)).build(),
       "10.0.0.1", "10.0.0.2", 22 + 20 + 20},
      {"ethernet old QinQ 0x9100", v4_tcp(PacketBuilder().eth().vlan(7, 0x9100).vlan(8)).build(),
       "10.0.0.1", "10.0.0.2", 22 + 20 + 20},
      {"linux sll", v4_tcp(PacketBuilder().sll()).build(), "10.0.0.1", "10.0.0.2", 16 + 20 + 20},
      {"linux sll2", v4_tcp(PacketBuilder().sll2()).build(), "10.0.0.1", "10.0.0.2", 20 + 20 + 20},
      {"linux sll2 ipv6", v6_tcp(PacketBuilder().sll2()).build(), "fd00::1", "fd00::2", 20 + 40 + 20},
      {"raw ipv4 (LINKTYPE_RAW)", v4_tcp(PacketBuilder().raw()).build(), "10.0.0.1", "10.0.0.2", 40},
      {"raw ipv6 (DLT_RAW 12)", v6_tcp(PacketBuilder().raw(LinkType::RawDlt)).build(), "fd00::1",
       "fd00::2", 60},
      {"null loopback little-endian ipv4", v4_tcp(PacketBuilder().null_loopback(true)).build(),
       "10.0.0.1", "10.0.0.2", 4 + 40},
      {"null loopback big-endian ipv4", v4_tcp(PacketBuilder().null_loopback(false)).build(),
       "10.0.0.1", "10.0.0.2", 4 + 40},
      {"null loopback little-endian ipv6 (AF_INET6 24)",
       v6_tcp(PacketBuilder().null_loopback(true, 24)).build(), "fd00::1", "fd00::2", 4 + 60},
      {"null loopback big-endian ipv6 (AF_INET6 30)",
       v6_tcp(PacketBuilder().null_loopback(false, 30)).build(), "fd00::1", "fd00::2", 4 + 60},
      {"ipv4 with options", v4_tcp(PacketBuilder().eth().ipv4_options({7, 7, 4, 0, 0, 0, 0, 1})).build(),
       "10.0.0.1", "10.0.0.2", 14 + 28 + 20},
      {"tcp with options", v4_tcp(PacketBuilder().eth().tcp_options(tcp_opts)).build(), "10.0.0.1",
       "10.0.0.2", 14 + 20 + 28},
      {"ipv6 hop-by-hop + destination options",
       v6_tcp(PacketBuilder().eth().ipv6_ext(0).ipv6_ext(60, 1)).build(), "fd00::1", "fd00::2",
       14 + 40 + 8 + 16 + 20},
      {"ipv6 routing header", v6_tcp(PacketBuilder().eth().ipv6_ext(43, 2)).build(), "fd00::1",
       "fd00::2", 14 + 40 + 24 + 20},
  };
}

TEST(Decoder, DecodesEveryLinkAndIpVariant) {
  for (const TcpCase& c : tcp_cases()) {
    SCOPED_TRACE(c.description);
    Decoder d;
    Segment seg;
    ASSERT_EQ(d.decode(c.packet.frame(), seg), DecodeOutcome::Tcp);
    EXPECT_EQ(seg.src.to_string(), c.src);
    EXPECT_EQ(seg.dst.to_string(), c.dst);
    EXPECT_EQ(seg.src_port, 40000);
    EXPECT_EQ(seg.dst_port, 80);
    EXPECT_EQ(seg.seq, 1000u);
    EXPECT_EQ(seg.ack, 2000u);
    EXPECT_EQ(seg.flags, kPshAck);
    EXPECT_EQ(as_chars(seg.payload), "GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(seg.payload_len, 18u);
    EXPECT_EQ(c.packet.data.size(), c.header_len + 18);
  }
}

TEST(Decoder, CopiesTimestampOfFrame) {
  Packet p = v4_tcp(PacketBuilder().eth()).at(Timestamp::from_seconds(1700000000, 123456)).build();
  Decoder d;
  Segment seg;
  ASSERT_EQ(d.decode(p.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.ts.micros, 1700000000123456);
}

TEST(Decoder, IpVersionsAreTaggedOnAddresses) {
  Decoder d;
  Segment seg;
  ASSERT_EQ(d.decode(v6_tcp(PacketBuilder().eth()).build().frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.src.version, 6);
  ASSERT_EQ(d.decode(v4_tcp(PacketBuilder().eth()).build().frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.src.version, 4);
  EXPECT_EQ(seg.src.bytes[4], 0);  // rest of a v4 address is zero
}

struct OutcomeCase {
  const char* description;
  Packet packet;
  DecodeOutcome expected;
};

Packet unsupported_link() {
  Packet p = v4_tcp(PacketBuilder().raw()).build();
  p.link = static_cast<LinkType>(147);  // LINKTYPE_USER0
  return p;
}

std::vector<OutcomeCase> outcome_cases() {
  return {
      {"ARP", testing::arp_frame(), DecodeOutcome::NotIp},
      {"ethertype LLDP", v4_tcp(PacketBuilder().eth().ethertype(0x88CC)).build(), DecodeOutcome::NotIp},
      {"sll with ethertype ARP", v4_tcp(PacketBuilder().sll().ethertype(0x0806)).build(),
       DecodeOutcome::NotIp},
      {"null loopback unknown family", v4_tcp(PacketBuilder().null_loopback(true, 99)).build(),
       DecodeOutcome::NotIp},
      {"raw with IP version 5", v4_tcp(PacketBuilder().raw().ip_version(5)).build(), DecodeOutcome::NotIp},
      {"unsupported link type", unsupported_link(), DecodeOutcome::UnsupportedLink},
      {"ipv4 udp", PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(5353, 53).payload("x").build(),
       DecodeOutcome::NotTcp},
      {"ipv6 udp", PacketBuilder().eth().ipv6("fd00::1", "fd00::2").udp(5353, 53).payload("x").build(),
       DecodeOutcome::NotTcp},
      {"ipv4 icmp", v4_tcp(PacketBuilder().eth().protocol(1)).build(), DecodeOutcome::NotTcp},
      {"ipv6 no-next-header (59)", v6_tcp(PacketBuilder().eth().protocol(59)).build(), DecodeOutcome::NotTcp},
      {"ipv4 first fragment (MF)", v4_tcp(PacketBuilder().eth().ipv4_fragment(true, 0)).build(),
       DecodeOutcome::Fragment},
      {"ipv4 last fragment (offset)", v4_tcp(PacketBuilder().eth().ipv4_fragment(false, 185)).build(),
       DecodeOutcome::Fragment},
      {"ipv6 fragment header", v6_tcp(PacketBuilder().eth().ipv6_ext(44)).build(), DecodeOutcome::Fragment},
      {"ipv6 hop-by-hop then fragment", v6_tcp(PacketBuilder().eth().ipv6_ext(0).ipv6_ext(44)).build(),
       DecodeOutcome::Fragment},
      {"five VLAN tags", v4_tcp(PacketBuilder().eth().vlan(1).vlan(2).vlan(3).vlan(4).vlan(5)).build(),
       DecodeOutcome::BadLinkHeader},
      {"ethertype ipv4 carrying version 6", v4_tcp(PacketBuilder().eth().ip_version(6)).build(),
       DecodeOutcome::BadIpHeader},
      {"ethertype ipv6 carrying version 4", v6_tcp(PacketBuilder().eth().ip_version(4)).build(),
       DecodeOutcome::BadIpHeader},
      {"ipv4 IHL 4", v4_tcp(PacketBuilder().eth().ipv4_ihl(4)).build(), DecodeOutcome::BadIpHeader},
      {"ipv4 total length below IHL", v4_tcp(PacketBuilder().eth().ipv4_total_length(19)).build(),
       DecodeOutcome::BadIpHeader},
      {"ipv6 extension header past payload length",
       v6_tcp(PacketBuilder().eth().ipv6_ext(0, 10).ipv6_payload_length(16)).build(),
       DecodeOutcome::BadIpHeader},
      {"tcp data offset 4", v4_tcp(PacketBuilder().eth().tcp_data_offset(4)).build(),
       DecodeOutcome::BadTcpHeader},
      {"tcp data offset beyond the datagram", v4_tcp(PacketBuilder().eth().tcp_data_offset(15)).build(),
       DecodeOutcome::BadTcpHeader},
      {"ipv4 total length leaves no room for tcp",
       v4_tcp(PacketBuilder().eth().ipv4_total_length(30)).build(), DecodeOutcome::BadTcpHeader},
      {"empty ethernet frame", v4_tcp(PacketBuilder().eth()).build().cut(0), DecodeOutcome::Truncated},
      {"empty raw frame", v4_tcp(PacketBuilder().raw()).build().cut(0), DecodeOutcome::Truncated},
  };
}

TEST(Decoder, NamedOutcomeForEveryNonTcpFrame) {
  for (const OutcomeCase& c : outcome_cases()) {
    SCOPED_TRACE(c.description);
    Decoder d;
    Segment seg;
    EXPECT_EQ(d.decode(c.packet.frame(), seg), c.expected);
  }
}

TEST(Decoder, EthernetPaddingIsNotPayload) {
  // A bare ACK is 54 bytes: Ethernet pads it to the 60-byte minimum.
  Packet ack = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, 1, 2, tcp_flags::kAck)
                   .trailer(6, 0xAA).build();
  ASSERT_EQ(ack.data.size(), 60u);
  Decoder d;
  Segment seg;
  ASSERT_EQ(d.decode(ack.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_TRUE(seg.payload.empty());
  EXPECT_EQ(seg.payload_len, 0u);

  Packet small = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, 1, 2, kPshAck)
                     .payload("hi").trailer(4, 0xAA).build();
  ASSERT_EQ(d.decode(small.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), "hi");
  EXPECT_EQ(seg.payload_len, 2u);

  Packet v6 = PacketBuilder().eth().ipv6("fd00::1", "fd00::2").tcp(40000, 80, 1, 2, kPshAck)
                  .payload("v6").trailer(8, 0xAA).build();
  ASSERT_EQ(d.decode(v6.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), "v6");
  EXPECT_EQ(seg.payload_len, 2u);
}

TEST(Decoder, SnaplenCutPayloadKeepsAnnouncedLength) {
  std::string body(100, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  Packet full = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, 1, 2, kPshAck)
                    .payload(body).build();
  Packet cut = full.cut(14 + 20 + 20 + 30);
  Decoder d;
  Segment seg;
  ASSERT_EQ(d.decode(cut.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.payload.size(), 30u);
  EXPECT_EQ(seg.payload_len, 100u);
  EXPECT_EQ(as_chars(seg.payload), body.substr(0, 30));

  Packet v6 = PacketBuilder().eth().ipv6("fd00::1", "fd00::2").ipv6_ext(0)
                  .tcp(40000, 80, 1, 2, kPshAck).payload(body).build();
  ASSERT_EQ(d.decode(v6.cut(14 + 48 + 20 + 7).frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.payload.size(), 7u);
  EXPECT_EQ(seg.payload_len, 100u);
}

// decoder.hpp promises TSO super-packets (IPv4 total length 0, captured on the sending
// host) are decoded from the captured length.
TEST(Decoder, TsoTotalLengthZeroTrustsCapture) {
  Packet p = v4_tcp(PacketBuilder().eth().ipv4_total_length(0)).build();
  Decoder d;
  Segment seg;
  ASSERT_EQ(d.decode(p.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(seg.payload_len, 18u);
}

// Every prefix of a valid frame: Truncated while a header is incomplete, then Tcp with
// exactly the captured part of the payload. The decoder must never read past the cut
// (run under ASan to check that too: each prefix is a fresh heap buffer of that size).
TEST(Decoder, EveryCutOfEveryValidFrame) {
  for (const TcpCase& c : tcp_cases()) {
    for (std::size_t n = 0; n < c.packet.data.size(); ++n) {
      SCOPED_TRACE(std::string(c.description) + " cut to " + std::to_string(n));
      Packet p = c.packet.cut(n);
      Bytes exact(p.data.begin(), p.data.end());
      Frame f = p.frame();
      f.bytes = ByteView(exact);
      Decoder d;
      Segment seg;
      DecodeOutcome o = d.decode(f, seg);
      if (n < c.header_len) {
        EXPECT_EQ(o, DecodeOutcome::Truncated) << to_string(o);
      } else {
        ASSERT_EQ(o, DecodeOutcome::Tcp);
        EXPECT_EQ(seg.payload.size(), n - c.header_len);
        EXPECT_EQ(seg.payload_len, 18u);
      }
    }
  }
}

TEST(Decoder, CountsEveryOutcome) {
  Decoder d;
  Segment seg;
  Packet tcp = v4_tcp(PacketBuilder().eth()).build();
  for (int i = 0; i < 3; ++i) d.decode(tcp.frame(), seg);
  d.decode(testing::arp_frame().frame(), seg);
  d.decode(PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build().frame(), seg);
  d.decode(PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build().frame(), seg);
  d.decode(tcp.cut(20).frame(), seg);
  d.decode(v4_tcp(PacketBuilder().eth().ipv4_fragment(true, 0)).build().frame(), seg);
  const auto& c = d.counts();
  auto at = [&](DecodeOutcome o) { return c[static_cast<std::size_t>(o)]; };
  EXPECT_EQ(at(DecodeOutcome::Tcp), 3u);
  EXPECT_EQ(at(DecodeOutcome::NotIp), 1u);
  EXPECT_EQ(at(DecodeOutcome::NotTcp), 2u);
  EXPECT_EQ(at(DecodeOutcome::Truncated), 1u);
  EXPECT_EQ(at(DecodeOutcome::Fragment), 1u);
  EXPECT_EQ(at(DecodeOutcome::BadIpHeader), 0u);
  std::uint64_t total = 0;
  for (auto v : c) total += v;
  EXPECT_EQ(total, 8u);
}

TEST(Decoder, OutcomeNames) {
  EXPECT_EQ(to_string(DecodeOutcome::Tcp), "tcp");
  EXPECT_EQ(to_string(DecodeOutcome::Fragment), "ip_fragment");
  EXPECT_EQ(to_string(DecodeOutcome::Truncated), "truncated");
  EXPECT_EQ(to_string(DecodeOutcome::NotIp), "not_ip");
}

TEST(IpAddress, TextForms) {
  const std::uint8_t v4[4] = {192, 168, 1, 20};
  EXPECT_EQ(IpAddress::v4(v4).to_string(), "192.168.1.20");
  std::uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(IpAddress::v6(v6).to_string(), "fd00::1");
  std::uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(IpAddress::v6(v6b).to_string(), "2001:db8::1:0:0:1");
}

}  // namespace
}  // namespace offpath
