#include "pipeline/connect_failures.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace offpath {
namespace {

struct Recorder final : ExchangeHandler {
  std::vector<Exchange> got;
  void on_exchange(Exchange&& ex) override { got.push_back(std::move(ex)); }
};

IpAddress v4(std::uint8_t last) {
  const std::uint8_t b[4] = {10, 231, 0, last};
  return IpAddress::v4(b);
}

constexpr std::uint16_t kClientPort = 40000;
constexpr std::uint16_t kServerPort = 8080;

// A segment from the client (10.231.0.1:40000) or the server (10.231.0.2:8080).
Segment seg(bool from_client, std::uint8_t flags, std::int64_t ms, std::uint32_t seq = 1000,
            std::uint32_t ack = 0, std::uint32_t payload = 0) {
  Segment s;
  s.ts = Timestamp{ms * 1000};
  s.src = from_client ? v4(1) : v4(2);
  s.dst = from_client ? v4(2) : v4(1);
  s.src_port = from_client ? kClientPort : kServerPort;
  s.dst_port = from_client ? kServerPort : kClientPort;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.payload_len = payload;
  return s;
}

using namespace tcp_flags;
constexpr std::int64_t kTimeout = 5'000'000;  // 5 s

TEST(ConnectFailures, SynAnsweredByRstIsRefused) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(false, kRst | kAck, 1, 0, 1001));
  ASSERT_EQ(r.got.size(), 1u);
  const Exchange& ex = r.got[0];
  EXPECT_EQ(ex.outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(ex.client.to_string(), "10.231.0.1:40000");
  EXPECT_EQ(ex.server.to_string(), "10.231.0.2:8080");
  EXPECT_FALSE(ex.request.has_value());
  EXPECT_FALSE(ex.response.has_value());
  EXPECT_EQ(ex.connection_start.micros, 0);
  EXPECT_EQ(ex.error_detail, "RST after 1 SYN, 1.000 ms after the first");
  EXPECT_EQ(d.counters().refused, 1u);
  d.finish(Timestamp{10'000});
  EXPECT_EQ(r.got.size(), 1u);
}

TEST(ConnectFailures, RstThatDoesNotAcknowledgeTheSynIsIgnored) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(false, kRst | kAck, 1, 0, 77));
  EXPECT_TRUE(r.got.empty());
}

TEST(ConnectFailures, HandshakeIsNotAFailure) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(true, kSyn, 1000));  // a retry, then the answer
  d.on_segment(seg(false, kSyn | kAck, 1001, 5000, 1001));
  d.on_segment(seg(false, kRst | kAck, 1002, 5001, 1001));  // a later reset is not a refusal
  d.on_time(Timestamp{60'000'000});
  d.finish(Timestamp{60'000'000});
  EXPECT_TRUE(r.got.empty());
  EXPECT_EQ(d.counters().connected, 1u);
}

TEST(ConnectFailures, UnansweredSynsTimeOut) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(true, kSyn, 1000));
  d.on_segment(seg(true, kSyn, 3000));
  d.on_time(Timestamp{4'999'999});
  EXPECT_TRUE(r.got.empty());
  d.on_time(Timestamp{5'000'000});
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].outcome, Outcome::ConnectTimeout);
  EXPECT_EQ(r.got[0].error_detail, "no SYN-ACK after 3 SYNs, 5000.000 ms after the first");
  d.finish(Timestamp{6'000'000});
  EXPECT_EQ(r.got.size(), 1u);
}

TEST(ConnectFailures, CaptureEndReportsOnlyRetriedAttempts) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(true, kSyn, 1000));
  Segment lone = seg(true, kSyn, 1500);
  lone.src_port = 40001;
  d.on_segment(lone);
  d.finish(Timestamp{2'000'000});
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].outcome, Outcome::ConnectTimeout);
  EXPECT_EQ(r.got[0].client.port, kClientPort);
}

TEST(ConnectFailures, PayloadEndsTheAttempt) {
  Recorder r;
  ConnectFailureDetector d(kTimeout, r);
  d.on_segment(seg(true, kSyn, 0));
  d.on_segment(seg(true, kAck | kPsh, 1, 1001, 5001, 100));  // SYN-ACK not captured
  d.on_time(Timestamp{60'000'000});
  EXPECT_TRUE(r.got.empty());
}

TEST(ConnectFailures, OutcomeNames) {
  EXPECT_EQ(to_string(Outcome::ConnectionRefused), "connection_refused");
  EXPECT_EQ(to_string(Outcome::ConnectTimeout), "connect_timeout");
}

}  // namespace
}  // namespace offpath
