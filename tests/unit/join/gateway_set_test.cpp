// Gateway addresses: legs by address, parsing, and detection in a capture's connections.
#include "join/gateway_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "join/join_config.hpp"
#include "join_fixtures.hpp"

namespace offpath {
namespace {

using join_test::ip;

TEST(GatewaySet, LegOfAConnectionFollowsItsGatewayEnd) {
  GatewaySet g;
  g.add(ip("192.0.2.2"));
  g.add(ip("fd00::2"));
  EXPECT_EQ(g.leg_of({ip("192.0.2.1"), 40000}, {ip("192.0.2.2"), 8080}), Leg::Client);
  EXPECT_EQ(g.leg_of({ip("192.0.2.2"), 40000}, {ip("198.51.100.2"), 80}), Leg::Upstream);
  EXPECT_EQ(g.leg_of({ip("fd00::1"), 40000}, {ip("fd00::2"), 443}), Leg::Client);
  EXPECT_EQ(g.leg_of({ip("192.0.2.1"), 40000}, {ip("198.51.100.2"), 80}), Leg::None);
}

TEST(GatewaySet, ParsesIpv4AndIpv6AndRejectsTheRest) {
  ASSERT_TRUE(parse_ip_address("10.0.0.1"));
  EXPECT_EQ(parse_ip_address("10.0.0.1")->version, 4);
  ASSERT_TRUE(parse_ip_address("fd00::1"));
  EXPECT_EQ(parse_ip_address("fd00::1")->version, 6);
  EXPECT_FALSE(parse_ip_address("gateway.example"));
  EXPECT_FALSE(parse_ip_address("10.0.0.1:80"));
}

TEST(GatewaySet, SetupChecksAddressesAndRewrites) {
  GatewayOptions o;
  o.addresses = {"192.0.2.2", "192.0.2.2", "fd00::2"};
  o.rewrites = {"/api=/v1"};
  auto s = join_setup(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->gateways.addresses().size(), 2u);  // the repeat once
  EXPECT_TRUE(s->options.rewrites.fits("/api/x", "/v1/x"));
  o.addresses = {"not-an-address"};
  EXPECT_FALSE(join_setup(o));
  o.addresses = {"192.0.2.2"};
  o.rewrites = {"api-v1"};
  EXPECT_FALSE(join_setup(o));
}

TEST(GatewaySet, LocalStandsForThisHostsAddresses) {
  const auto local = local_addresses();
  for (const IpAddress& a : local) {
    EXPECT_FALSE(a.version == 4 && a.bytes[0] == 127) << a.to_string();  // no loopback
  }
  GatewayOptions o;
  o.addresses = {"local", "192.0.2.2"};
  auto s = join_setup(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->gateways.addresses().size(),
            local.size() + (std::find(local.begin(), local.end(), ip("192.0.2.2")) == local.end()));
  for (const IpAddress& a : local) EXPECT_TRUE(s->gateways.contains(a));
}

TEST(GatewayDetector, FindsTheAddressThatServesAndOpens) {
  GatewayDetector d;
  d.on_connection(ip("192.0.2.1"), ip("192.0.2.2"));     // client -> gateway
  d.on_connection(ip("192.0.2.2"), ip("198.51.100.2"));  // gateway -> backend
  d.on_connection(ip("192.0.2.7"), ip("198.51.100.3"));  // unrelated
  const auto found = d.detected();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], ip("192.0.2.2"));
}

TEST(GatewayDetector, LoopbackToItselfIsNoGateway) {
  GatewayDetector d;
  d.on_connection(ip("127.0.0.1"), ip("127.0.0.1"));
  d.on_connection(ip("127.0.0.1"), ip("127.0.0.1"));
  EXPECT_TRUE(d.detected().empty());
  d.on_connection(ip("192.0.2.1"), ip("192.0.2.2"));  // serves only
  EXPECT_TRUE(d.detected().empty());
}

}  // namespace
}  // namespace offpath
