// JoinStage with several worker lanes: the two legs of each request arrive from different
// lanes on different threads at once; the watermark is the slowest lane's time.
#include "pipeline/join_stage.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/sinks.hpp"
#include "unit/join/join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

JoinSetup setup() {
  GatewayOptions g;
  g.addresses = {kGateway};
  g.settle_s = 1;
  return *join_setup(g);
}

Config config() {
  Config c;
  c.publish = PublishMode::All;
  c.record.max_body = 0;
  return c;
}

// Runs feed(lane, i) for every request i on each lane's own thread, all at once, then
// finishes the stage.
template <typename Feed>
void on_lane_threads(JoinStage& stage, unsigned lanes, int requests, Feed feed) {
  std::vector<std::thread> threads;
  for (unsigned lane = 0; lane < lanes; ++lane) {
    threads.emplace_back([&feed, lane, requests] {
      for (int i = 0; i < requests; ++i) feed(lane, i);
    });
  }
  for (auto& t : threads) t.join();
  stage.finish();
}

TEST(JoinStage, LegsFromDifferentLanesOnDifferentThreadsJoin) {
  constexpr unsigned kLanes = 4;
  constexpr int kRequests = 2000;
  const Config cfg = config();
  testing::CapturingSink sink(false);
  JoinStage stage(cfg, setup(), ClassifyOptions{}, sink, kLanes, true, false);
  on_lane_threads(stage, kLanes, kRequests, [&stage](unsigned lane, int i) {
    const std::int64_t t = i * 2;  // 2 ms apart, each 30 ms long: ~15 overlap
    const std::string uri = "/r?n=" + std::to_string(i);
    const auto port = static_cast<std::uint16_t>(10000 + i);
    // The upstream leg of request i on lane i % kLanes, its client leg on the next.
    if (static_cast<unsigned>(i) % kLanes == lane) {
      stage.on_exchange(lane,
                        upstream_leg(port, {.uri = uri, .req_start = t + 2, .req_end = t + 3,
                                            .resp_start = t + 20, .resp_end = t + 25}),
                        Leg::Upstream);
    }
    if ((static_cast<unsigned>(i) + 1) % kLanes == lane) {
      stage.on_exchange(lane,
                        client_leg(port, {.uri = uri, .req_start = t, .req_end = t + 1,
                                          .resp_start = t + 26, .resp_end = t + 30}),
                        Leg::Client);
    }
    stage.on_time(lane, ms(t));
  });
  const JoinStageCounters c = stage.counters();
  EXPECT_EQ(c.join.joined, static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(c.join.ambiguous, 0u);
  EXPECT_EQ(c.join.unjoined_upstream, 0u);
  EXPECT_EQ(c.output.published, static_cast<std::uint64_t>(kRequests));
  ASSERT_EQ(sink.records.size(), static_cast<std::size_t>(kRequests));
  for (const auto& r : sink.records) {
    EXPECT_NE(r.payload.find("\"leg\":\"client\""), std::string::npos);
    EXPECT_NE(r.payload.find("\"attempts\":1"), std::string::npos);
  }
  EXPECT_EQ(stage.bytes(), 0u);
}

TEST(JoinStage, RefusedConnectsFromOtherLanesJoinInTheGatewaysOrder) {
  // Requests 500 us apart; a third refused and answered 502 (/closed), a third refused
  // then retried on a new connection (/retry), a third straight to a backend (/ok). The
  // refused connect, the attempt and the client leg of each come from three lanes, each
  // on its own thread.
  constexpr unsigned kLanes = 3;
  constexpr int kRequests = 1500;
  const Config cfg = config();
  testing::CapturingSink sink(false);
  JoinStage stage(cfg, setup(), ClassifyOptions{}, sink, kLanes, true, false);
  on_lane_threads(stage, kLanes, kRequests, [&stage](unsigned lane, int i) {
    const std::int64_t t = i * 500;
    const int kind = i % 3;  // 0 /closed, 1 /retry, 2 /ok
    const std::string uri = (kind == 0 ? "/closed?n=" : kind == 1 ? "/retry?n=" : "/ok?n=") +
                            std::to_string(i);
    const auto port = static_cast<std::uint16_t>(10000 + i);
    const unsigned first = static_cast<unsigned>(i) % kLanes;
    if (kind != 2 && first == lane) {
      stage.on_exchange(lane, refused_at(port, t + 40), Leg::Upstream);
    }
    if (kind != 0 && (first + 1) % kLanes == lane) {
      stage.on_exchange(lane, attempt_at(port, uri, t + (kind == 1 ? 70 : 40), t + 300),
                        Leg::Upstream);
    }
    if ((first + 2) % kLanes == lane) {
      const int status = kind == 0 ? 502 : 200;
      const std::int64_t answer = t + (kind == 0 ? 80 : 310);
      stage.on_exchange(lane, client_at(port, uri, status, t, answer), Leg::Client);
    }
    stage.on_time(lane, us(t));
  });
  const JoinStageCounters c = stage.counters();
  EXPECT_EQ(c.join.joined, static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(c.join.retries, static_cast<std::uint64_t>(kRequests / 3));
  EXPECT_EQ(c.join.ambiguous, 0u);
  EXPECT_EQ(c.join.unjoined_upstream, 0u);
  ASSERT_EQ(sink.records.size(), static_cast<std::size_t>(kRequests));
  for (const auto& r : sink.records) {
    const bool closed = r.payload.find("/closed?n=") != std::string::npos;
    const bool retry = r.payload.find("/retry?n=") != std::string::npos;
    const char* attempts = retry ? "\"attempts\":2" : "\"attempts\":1";
    EXPECT_NE(r.payload.find(attempts), std::string::npos) << r.payload;
    EXPECT_EQ(r.payload.find("connection_refused") != std::string::npos, closed || retry)
        << r.payload;
  }
}

TEST(JoinStage, TheSlowestLaneHoldsTheWindow) {
  const Config cfg = config();
  testing::CapturingSink sink(false);
  JoinStage stage(cfg, setup(), ClassifyOptions{}, sink, 2, true, false);
  stage.on_exchange(0, client_leg(1, {.uri = "/a", .req_start = 0, .req_end = 1,
                                      .resp_start = 10, .resp_end = 11}),
                    Leg::Client);
  stage.on_time(0, ms(60'000));  // lane 0 far ahead; lane 1 has reported nothing
  stage.on_time(1, ms(5));
  EXPECT_TRUE(sink.records.empty());
  // Lane 1 is behind: the attempt it reports late still joins.
  stage.on_exchange(1, upstream_leg(2, {.uri = "/a", .req_start = 2, .req_end = 3,
                                        .resp_start = 5, .resp_end = 6}),
                    Leg::Upstream);
  stage.on_time(1, ms(2'000));  // past the settle time on both lanes
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_NE(sink.records[0].payload.find("\"attempts\":1"), std::string::npos);
  stage.finish();
}

TEST(JoinStage, WindowBytesCountInTheMemoryBudget) {
  MemoryBudget budget(64u << 20);
  Config cfg = config();
  cfg.memory = &budget;
  testing::CapturingSink sink(false);
  JoinStage stage(cfg, setup(), ClassifyOptions{}, sink, 1, false, false);
  stage.use_sink(sink);
  stage.on_exchange(0, client_leg(10000, {.uri = "/a", .req_start = 0, .req_end = 1,
                                          .resp_start = 30, .resp_end = 31}),
                    Leg::Client);
  const std::uint64_t held = stage.bytes();
  ASSERT_GT(held, 0u);
  EXPECT_EQ(stage.counters().output.memory[MemoryPool::Exchanges],
            static_cast<std::int64_t>(held));
  EXPECT_GE(budget.status().used, held);
  stage.finish();
  EXPECT_EQ(stage.bytes(), 0u);
  EXPECT_EQ(stage.counters().output.memory[MemoryPool::Exchanges], 0);
}

}  // namespace
}  // namespace offpath
