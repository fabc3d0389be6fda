// The live default of the gateway view: this host's addresses become gateway addresses
// once the host has served and opened HTTP exchanges (join/auto_gateways.hpp), and the
// --gateway values auto and none (join/join_config.hpp).
#include "join/auto_gateways.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "join/join_config.hpp"
#include "join_fixtures.hpp"

namespace offpath {
namespace {

using join_test::ip;

// A gateway with one address towards its clients and another towards its backends.
const Endpoint kClient{ip("192.0.2.1"), 40000};
const Endpoint kFront{ip("192.0.2.2"), 8080};
const Endpoint kBack{ip("198.51.100.1"), 41000};
const Endpoint kBackend{ip("198.51.100.2"), 8081};

TEST(AutoGateways, TheHostIsAGatewayOnceItHasServedAndOpened) {
  AutoGateways a({ip("192.0.2.2"), ip("198.51.100.1")});
  EXPECT_EQ(a.observe(kClient, kFront, true), Leg::None);  // served: not yet a gateway
  EXPECT_EQ(a.observe(kClient, kFront, true), Leg::None);
  EXPECT_FALSE(a.confirmed());
  // Opened, from its other address: now both of its addresses are the gateway's.
  EXPECT_EQ(a.observe(kBack, kBackend, true), Leg::Upstream);
  EXPECT_TRUE(a.confirmed());
  EXPECT_EQ(a.observe(kClient, kFront, true), Leg::Client);
  EXPECT_EQ(a.observe(kBack, kBackend, false), Leg::Upstream);  // a refused connect too
  EXPECT_EQ(a.observe(kClient, kBackend, true), Leg::None);     // not the host's
}

TEST(AutoGateways, AHostThatOnlyServesIsNeverAGateway) {
  AutoGateways a({ip("192.0.2.2")});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.observe(kClient, kFront, true), Leg::None);
  EXPECT_FALSE(a.confirmed());
}

TEST(AutoGateways, ConnectFailuresAndTheHostToItselfTeachNothing) {
  AutoGateways a({ip("192.0.2.2"), ip("198.51.100.1")});
  EXPECT_EQ(a.observe(kClient, kFront, true), Leg::None);
  // A refused connect (no request) from the host is no HTTP exchange it opened.
  EXPECT_EQ(a.observe(kBack, kBackend, false), Leg::None);
  // Nor is an exchange between two of its own addresses, either way.
  EXPECT_EQ(a.observe({ip("198.51.100.1"), 1}, {ip("192.0.2.2"), 8080}, true), Leg::None);
  EXPECT_EQ(a.observe({ip("192.0.2.2"), 1}, {ip("192.0.2.2"), 8080}, true), Leg::None);
  EXPECT_FALSE(a.confirmed());
}

TEST(AutoGateways, ManyWorkersTeachItAtOnce) {
  // Workers call observe() concurrently; the host is confirmed once, and every exchange
  // seen after that gets its leg.
  for (int round = 0; round < 50; ++round) {
    AutoGateways a({ip("192.0.2.2"), ip("198.51.100.1")});
    std::vector<std::thread> workers;
    std::vector<int> legs_after(4, 0);
    for (int w = 0; w < 4; ++w) {
      workers.emplace_back([&, w] {
        for (int i = 0; i < 200; ++i) {
          const bool serve = (i + w) % 2 == 0;
          a.observe(serve ? kClient : kBack, serve ? kFront : kBackend, true);
        }
        legs_after[static_cast<std::size_t>(w)] = a.observe(kClient, kFront, true) == Leg::Client;
      });
    }
    for (auto& t : workers) t.join();
    EXPECT_TRUE(a.confirmed());
    EXPECT_EQ(std::count(legs_after.begin(), legs_after.end(), 1), 4);
  }
}

TEST(JoinSetup, AutoMakesCandidatesAndNoneTurnsTheViewOff) {
  GatewayOptions o;
  o.addresses = {"auto"};
  auto s = join_setup(o);
  ASSERT_TRUE(s);
  const auto local = local_addresses();
  EXPECT_TRUE(s->gateways.empty());
  EXPECT_EQ(s->candidates.size(), local.size());
  EXPECT_EQ(s->enabled(), !local.empty());
  o.addresses = {"none"};
  s = join_setup(o);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->enabled());
  o.addresses = {"none", "192.0.2.2"};
  EXPECT_FALSE(join_setup(o));  // contradictory
  // An address given for sure is not also a candidate.
  if (!local.empty()) {
    o.addresses = {"auto", local.front().to_string()};
    s = join_setup(o);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->gateways.contains(local.front()));
    EXPECT_EQ(std::count(s->candidates.begin(), s->candidates.end(), local.front()), 0);
  }
}

}  // namespace
}  // namespace offpath
