// IP fragment reassembly through the decoder: IPv4 and IPv6 fragments in any order give
// back the exact segment; overlapping bytes keep the first copy; pending datagrams are
// bounded by count, bytes and packet time, and every fragment that is not reassembled is
// counted; IPv6 atomic fragments are whole packets; fragments inside a tunnel and
// fragmented tunnels both work.
#include "decode/ip_defragmenter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "decode/decoder.hpp"
#include "support/packet_builder.hpp"
#include "unit/decode/print_outcome.hpp"

namespace offpath {

namespace {

using testing::Bytes;
using testing::Packet;
using testing::PacketBuilder;

constexpr std::uint8_t kPshAck = tcp_flags::kPsh | tcp_flags::kAck;

std::string body(std::size_t n) {
  std::string s = "POST /upload HTTP/1.1\r\nContent-Length: 200\r\n\r\n";
  while (s.size() < n) s += static_cast<char>('a' + s.size() % 26);
  return s;
}

Bytes v4_packet(const std::string& payload, std::uint16_t src_port = 40000) {
  return PacketBuilder().raw().ipv4("10.0.0.1", "10.0.0.2").tcp(src_port, 80, 1000, 2000, kPshAck)
      .payload(payload).build().data;
}
Bytes v6_packet(const std::string& payload) {
  return PacketBuilder().raw().ipv6("fd00::1", "fd00::2").tcp(40000, 80, 1000, 2000, kPshAck)
      .payload(payload).build().data;
}

// The IPv4 packet cut into fragments of `size` data bytes (a multiple of 8).
std::vector<Bytes> fragments_v4(const Bytes& pkt, std::size_t size, std::uint16_t id) {
  const std::size_t ihl = static_cast<std::size_t>(pkt[0] & 0x0F) * 4;
  std::vector<Bytes> out;
  for (std::size_t off = 0; off + ihl < pkt.size(); off += size) {
    const std::size_t n = std::min(size, pkt.size() - ihl - off);
    Bytes f(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(ihl));
    f.insert(f.end(), pkt.begin() + static_cast<std::ptrdiff_t>(ihl + off),
             pkt.begin() + static_cast<std::ptrdiff_t>(ihl + off + n));
    testing::set16(f, 2, static_cast<unsigned>(f.size()));
    testing::set16(f, 4, id);
    const bool more = ihl + off + n < pkt.size();
    testing::set16(f, 6, static_cast<unsigned>((more ? 0x2000 : 0) | (off / 8)));
    out.push_back(f);
  }
  return out;
}

// The IPv6 packet (no extension headers) cut into fragments behind a fragment header.
std::vector<Bytes> fragments_v6(const Bytes& pkt, std::size_t size, std::uint32_t id) {
  std::vector<Bytes> out;
  for (std::size_t off = 0; off + 40 < pkt.size(); off += size) {
    const std::size_t n = std::min(size, pkt.size() - 40 - off);
    const bool more = 40 + off + n < pkt.size();
    Bytes f(pkt.begin(), pkt.begin() + 40);
    f[6] = 44;
    testing::put8(f, pkt[6]);
    testing::put8(f, 0);
    testing::put16(f, static_cast<unsigned>(off | (more ? 1 : 0)));
    testing::put32(f, id);
    f.insert(f.end(), pkt.begin() + static_cast<std::ptrdiff_t>(40 + off),
             pkt.begin() + static_cast<std::ptrdiff_t>(40 + off + n));
    testing::set16(f, 4, static_cast<unsigned>(f.size() - 40));
    out.push_back(f);
  }
  return out;
}

Packet raw(const Bytes& b, std::int64_t micros = 1'700'000'000'000'000) {
  Packet p;
  p.link = LinkType::Raw;
  p.data = b;
  p.ts = Timestamp{micros};
  return p;
}

// Feeds the fragments in the given order; returns the outcome of each.
std::vector<DecodeOutcome> feed(Decoder& d, const std::vector<Bytes>& frags,
                                const std::vector<std::size_t>& order, Segment& seg) {
  std::vector<DecodeOutcome> out;
  for (std::size_t i : order) out.push_back(d.decode(raw(frags[i]).frame(), seg));
  return out;
}

TEST(IpDefragmenter, Ipv4InAnyOrderGivesTheWholeSegment) {
  const std::string payload = body(200);
  const std::vector<Bytes> frags = fragments_v4(v4_packet(payload), 48, 7);
  ASSERT_EQ(frags.size(), 5u);
  for (const std::vector<std::size_t>& order :
       {std::vector<std::size_t>{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}}) {
    Decoder d;
    Segment seg;
    const auto outcomes = feed(d, frags, order, seg);
    for (std::size_t i = 0; i + 1 < outcomes.size(); ++i) EXPECT_EQ(outcomes[i], DecodeOutcome::Fragment);
    ASSERT_EQ(outcomes.back(), DecodeOutcome::Tcp);
    EXPECT_EQ(seg.src.to_string(), "10.0.0.1");
    EXPECT_EQ(seg.src_port, 40000);
    EXPECT_EQ(seg.dst_port, 80);
    EXPECT_EQ(seg.seq, 1000u);
    EXPECT_EQ(as_chars(seg.payload), payload);
    EXPECT_EQ(seg.payload_len, payload.size());
    EXPECT_EQ(d.fragment_counts().reassembled, 1u);
    EXPECT_EQ(d.fragment_counts().fragments, 5u);
    EXPECT_EQ(d.fragments_pending(), 0u);
  }
}

TEST(IpDefragmenter, Ipv6InAnyOrderGivesTheWholeSegment) {
  const std::string payload = body(150);
  const std::vector<Bytes> frags = fragments_v6(v6_packet(payload), 64, 0xABCDEF01);
  ASSERT_EQ(frags.size(), 3u);
  Decoder d;
  Segment seg;
  const auto outcomes = feed(d, frags, {2, 0, 1}, seg);
  EXPECT_EQ(outcomes[0], DecodeOutcome::Fragment);
  EXPECT_EQ(outcomes[1], DecodeOutcome::Fragment);
  ASSERT_EQ(outcomes[2], DecodeOutcome::Tcp);
  EXPECT_EQ(seg.src.to_string(), "fd00::1");
  EXPECT_EQ(as_chars(seg.payload), payload);
  EXPECT_EQ(d.fragment_counts().reassembled, 1u);
}

TEST(IpDefragmenter, OverlappingBytesKeepTheFirstCopy) {
  const std::string payload = body(200);
  std::vector<Bytes> frags = fragments_v4(v4_packet(payload), 48, 9);
  Bytes liar = frags[1];
  std::fill(liar.begin() + 20, liar.end(), static_cast<std::uint8_t>('X'));
  frags.push_back(liar);  // index 5: same range as 1, other bytes
  Decoder d;
  Segment seg;
  const auto outcomes = feed(d, frags, {0, 1, 5, 2, 3, 4}, seg);
  ASSERT_EQ(outcomes.back(), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), payload);
  EXPECT_EQ(d.fragment_counts().overlaps, 1u);
}

TEST(IpDefragmenter, PendingDatagramsTimeOutByPacketTime) {
  const std::vector<Bytes> frags = fragments_v4(v4_packet(body(200)), 48, 11);
  Decoder d;
  Segment seg;
  const std::int64_t t0 = 1'700'000'000'000'000;
  EXPECT_EQ(d.decode(raw(frags[0], t0).frame(), seg), DecodeOutcome::Fragment);
  EXPECT_EQ(d.fragments_pending(), 1u);
  // 31 s later the rest arrives: the first part has been dropped, so nothing completes.
  for (std::size_t i = 1; i < frags.size(); ++i) {
    EXPECT_EQ(d.decode(raw(frags[i], t0 + 31'000'000).frame(), seg), DecodeOutcome::Fragment);
  }
  EXPECT_EQ(d.fragment_counts().timed_out, 1u);
  EXPECT_EQ(d.fragment_counts().reassembled, 0u);
  EXPECT_EQ(d.fragments_pending(), 1u);  // the late part waits, in its turn
}

TEST(IpDefragmenter, BoundedByDatagramCountEvictingTheOldest) {
  IpDefragmenter::Limits limits;
  limits.max_datagrams = 4;
  Decoder d(limits);
  Segment seg;
  std::vector<std::vector<Bytes>> datagrams;
  for (std::uint16_t id = 0; id < 6; ++id) {
    datagrams.push_back(fragments_v4(v4_packet(body(100), static_cast<std::uint16_t>(40000 + id)), 48, id));
    d.decode(raw(datagrams.back()[0], 1'700'000'000'000'000 + id).frame(), seg);
  }
  EXPECT_EQ(d.fragments_pending(), 4u);
  EXPECT_EQ(d.fragment_counts().evicted, 2u);
  // The newest completes; the evicted first one cannot.
  for (std::size_t i = 1; i < datagrams[5].size(); ++i) d.decode(raw(datagrams[5][i]).frame(), seg);
  EXPECT_EQ(seg.src_port, 40005);
  EXPECT_EQ(d.fragment_counts().reassembled, 1u);
}

TEST(IpDefragmenter, BoundedByHeldBytes) {
  IpDefragmenter::Limits limits;
  limits.max_bytes = 300;
  Decoder d(limits);
  Segment seg;
  const std::vector<Bytes> a = fragments_v4(v4_packet(body(400), 40001), 48, 1);
  const std::vector<Bytes> b = fragments_v4(v4_packet(body(400), 40002), 48, 2);
  // The last fragment of each announces the whole datagram's extent.
  EXPECT_EQ(d.decode(raw(a.back()).frame(), seg), DecodeOutcome::Fragment);
  EXPECT_EQ(d.decode(raw(b.back()).frame(), seg), DecodeOutcome::Fragment);
  EXPECT_EQ(d.fragment_counts().dropped, 2u);  // neither fits in 300 bytes
  EXPECT_EQ(d.fragments_pending(), 0u);
  const std::vector<Bytes> small1 = fragments_v4(v4_packet(body(150), 40003), 48, 3);
  const std::vector<Bytes> small2 = fragments_v4(v4_packet(body(150), 40004), 48, 4);
  d.decode(raw(small1.back()).frame(), seg);
  d.decode(raw(small2.back()).frame(), seg);  // 2 x ~170 bytes: the older is evicted
  EXPECT_EQ(d.fragment_counts().evicted, 1u);
  EXPECT_EQ(d.fragments_pending(), 1u);
}

TEST(IpDefragmenter, MalformedFragmentsAreDroppedAndCounted) {
  const std::vector<Bytes> frags = fragments_v4(v4_packet(body(200)), 48, 5);
  Decoder d;
  Segment seg;
  Bytes odd = frags[0];  // more fragments, but 47 bytes of data
  odd.pop_back();
  testing::set16(odd, 2, static_cast<unsigned>(odd.size()));
  EXPECT_EQ(d.decode(raw(odd).frame(), seg), DecodeOutcome::Fragment);
  Bytes beyond = frags.back();  // offset 8184 units: past 65535 bytes
  testing::set16(beyond, 6, 0x1FFF);
  EXPECT_EQ(d.decode(raw(beyond).frame(), seg), DecodeOutcome::Fragment);
  Packet cut = raw(frags[1]).cut(40);  // the capture kept half of it
  EXPECT_EQ(d.decode(cut.frame(), seg), DecodeOutcome::Fragment);
  EXPECT_EQ(d.fragment_counts().dropped, 3u);
  EXPECT_EQ(d.fragments_pending(), 0u);
}

TEST(IpDefragmenter, ConflictingEndKeepsTheFirst) {
  const std::string payload = body(200);
  std::vector<Bytes> frags = fragments_v4(v4_packet(payload), 48, 6);
  Bytes short_last = frags[2];  // claims the datagram ends after 3 fragments
  testing::set16(short_last, 6, static_cast<unsigned>(2 * 48 / 8));
  Decoder d;
  Segment seg;
  d.decode(raw(frags[4]).frame(), seg);
  EXPECT_EQ(d.decode(raw(short_last).frame(), seg), DecodeOutcome::Fragment);
  EXPECT_EQ(d.fragment_counts().dropped, 1u);
  const auto outcomes = feed(d, frags, {0, 1, 2, 3}, seg);
  ASSERT_EQ(outcomes.back(), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), payload);
}

TEST(IpDefragmenter, InnerPortFilterAppliesToReassembledSegments) {
  const std::vector<Bytes> frags = fragments_v4(v4_packet(body(100)), 48, 8);
  Decoder d;
  Segment seg;
  d.set_inner_ports({8080});
  const auto outcomes = feed(d, frags, {0, 1, 2}, seg);
  EXPECT_EQ(outcomes.back(), DecodeOutcome::InnerPortFiltered);
  EXPECT_EQ(d.fragment_counts().reassembled, 1u);
}

TEST(IpDefragmenter, Ipv6AtomicFragmentIsAWholePacket) {
  const std::string payload = "GET / HTTP/1.1\r\n\r\n";
  std::vector<Bytes> frags = fragments_v6(v6_packet(payload), 1024, 3);
  ASSERT_EQ(frags.size(), 1u);  // offset 0, M = 0
  Decoder d;
  Segment seg;
  const Packet whole = raw(frags[0]);  // the segment's payload points into it
  ASSERT_EQ(d.decode(whole.frame(), seg), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), payload);
  EXPECT_EQ(d.fragment_counts().atomic, 1u);
  EXPECT_EQ(d.fragment_counts().fragments, 0u);
}

TEST(IpDefragmenter, FragmentedTunnelAndFragmentsInsideATunnel) {
  const std::string payload = body(200);
  const Bytes inner = v4_packet(payload);
  // IPv4-in-IPv4 whose outer packet is fragmented.
  Bytes outer = PacketBuilder().raw().ipv4("192.0.2.1", "192.0.2.2").protocol(4).udp(1, 2).build().data;
  outer.resize(20);
  outer.insert(outer.end(), inner.begin(), inner.end());
  testing::set16(outer, 2, static_cast<unsigned>(outer.size()));
  outer[9] = 4;
  const std::vector<Bytes> outer_frags = fragments_v4(outer, 64, 21);
  Decoder d;
  Segment seg;
  const auto a = feed(d, outer_frags, {1, 0, 2, 3}, seg);
  ASSERT_EQ(a.back(), DecodeOutcome::Tcp);
  EXPECT_EQ(seg.src.to_string(), "10.0.0.1");
  EXPECT_EQ(as_chars(seg.payload), payload);
  // Inner fragments, each in its own unfragmented outer packet.
  std::vector<Bytes> wrapped;
  for (const Bytes& f : fragments_v4(inner, 64, 22)) {
    Bytes w(outer.begin(), outer.begin() + 20);
    w.insert(w.end(), f.begin(), f.end());
    testing::set16(w, 2, static_cast<unsigned>(w.size()));
    wrapped.push_back(w);
  }
  const auto b = feed(d, wrapped, {2, 1, 0, 3}, seg);
  ASSERT_EQ(b.back(), DecodeOutcome::Tcp);
  EXPECT_EQ(as_chars(seg.payload), payload);
  EXPECT_EQ(d.fragment_counts().reassembled, 2u);
  EXPECT_EQ(d.encap_counts()[static_cast<std::size_t>(EncapKind::Ipip)], 5u);
}

}  // namespace
}  // namespace offpath
