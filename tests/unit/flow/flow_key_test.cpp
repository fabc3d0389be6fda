// FlowKey and IpAddress: the endpoint order is byte order (as memcmp would give), both
// directions of a connection give one key and one hash, the per-packet hash spreads the
// keys of a typical gateway (many clients, one server port) evenly over table slots and
// workers, and the hash behind connection ids stays what it was.
#include "flow/flow_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace offpath {
namespace {

IpAddress random_address(std::mt19937_64& rng) {
  IpAddress a;
  a.version = (rng() & 1) != 0 ? 6 : 4;
  const std::size_t n = a.version == 6 ? 16 : 4;
  // Few distinct byte values, so that long shared prefixes and equal words occur.
  for (std::size_t i = 0; i < n; ++i) a.bytes[i] = static_cast<std::uint8_t>(rng() % 3);
  return a;
}

TEST(IpAddress, OrdersAsTheBytesThenTheVersion) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const IpAddress a = random_address(rng);
    const IpAddress b = (i % 5 == 0) ? a : random_address(rng);
    int bytes = std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size());
    if (bytes == 0) bytes = static_cast<int>(a.version) - static_cast<int>(b.version);
    EXPECT_EQ(a < b, bytes < 0);
    EXPECT_EQ(a == b, bytes == 0);
    EXPECT_EQ(a > b, bytes > 0);
  }
}

Segment segment(const IpAddress& src, std::uint16_t sport, const IpAddress& dst,
                std::uint16_t dport) {
  Segment s;
  s.src = src;
  s.dst = dst;
  s.src_port = sport;
  s.dst_port = dport;
  return s;
}

TEST(FlowKey, BothDirectionsGiveOneKey) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 5000; ++i) {
    const IpAddress a = random_address(rng);
    const IpAddress b = random_address(rng);
    const auto pa = static_cast<std::uint16_t>(rng());
    const auto pb = static_cast<std::uint16_t>(rng());
    Side there;
    Side back;
    const FlowKey k1 = FlowKey::of(segment(a, pa, b, pb), there);
    const FlowKey k2 = FlowKey::of(segment(b, pb, a, pa), back);
    EXPECT_EQ(k1, k2);
    EXPECT_EQ(k1.hash(), k2.hash());
    EXPECT_EQ(k1.id_hash(), k2.id_hash());
    EXPECT_FALSE(k1.hi < k1.lo);
    if (!(k1.lo == k1.hi)) {
      EXPECT_NE(there, back);
    }
  }
}

// 65,536 connections of a gateway: clients in 10.1.0.0/16 with ports counting up, to
// 10.0.0.1:8080. Slots and workers are picked from the hash's low bits.
TEST(FlowKey, HashSpreadsGatewayTrafficEvenly) {
  IpAddress server;
  server.bytes = {10, 0, 0, 1};
  std::vector<std::size_t> hashes;
  for (std::uint32_t i = 0; i < 65536; ++i) {
    IpAddress client;
    client.bytes = {10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    Side side;
    hashes.push_back(
        FlowKey::of(segment(client, static_cast<std::uint16_t>(20000 + i % 40000), server, 8080),
                    side)
            .hash());
  }
  std::vector<int> slots(4096, 0);
  for (std::size_t h : hashes) ++slots[h & 4095];
  // 16 per slot on average; a uniform hash keeps the fullest slot far below 48.
  EXPECT_LT(*std::max_element(slots.begin(), slots.end()), 48);
  for (std::size_t workers : {2u, 3u, 7u}) {
    std::vector<int> per(workers, 0);
    for (std::size_t h : hashes) ++per[h % workers];
    const double even = 65536.0 / static_cast<double>(workers);
    for (int n : per) EXPECT_NEAR(n, even, even * 0.03) << workers << " workers";
  }
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(std::unique(hashes.begin(), hashes.end()), hashes.end());
}

// Connection ids are built from id_hash(): records of one capture keep their ids from
// one version to the next.
TEST(FlowKey, IdHashIsFixed) {
  IpAddress client;
  client.bytes = {10, 0, 0, 1};
  IpAddress server;
  server.bytes = {10, 0, 0, 2};
  Side side;
  const FlowKey k = FlowKey::of(segment(client, 40000, server, 80), side);
  EXPECT_EQ(k.id_hash(), 7567119234211227854u);
}

}  // namespace
}  // namespace offpath
