// The join window on what backends and clients do wrong (the cases of the recorded
// gateway-joined-failures and gateway-haproxy captures): a backend that resets or closes
// in the middle of its response head, and a client that goes away before the gateway
// answers (nginx's 499).
#include "join/join_window.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

struct Collector final : ExchangeHandler {
  std::vector<Exchange> out;
  void on_exchange(Exchange&& ex) override { out.push_back(std::move(ex)); }
  const Exchange* client() const {
    for (const auto& e : out) {
      if (e.gateway && e.gateway->leg == Leg::Client) return &e;
    }
    return nullptr;
  }
};

JoinOptions options() {
  JoinOptions o;
  o.settle_micros = 1'000'000;
  return o;
}

// The backend sent "HTTP/1.1 200 OK\r\nContent-" and then closed or reset: the gateway
// got no response head and answered 502 itself.
void check_cut_head(Outcome how) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  Exchange up = upstream_leg(20001, {.uri = "/reset-head", .status = 200, .req_start = 2,
                                     .req_end = 3, .resp_start = 5, .resp_end = 5,
                                     .outcome = how});
  up.response->headers_end = Timestamp{};  // the head never completed
  w.on_exchange(std::move(up), Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/reset-head", .status = 502, .req_start = 0,
                                   .req_end = 1, .resp_start = 6, .resp_end = 7}),
                Leg::Client, ms(0));
  w.finish();
  const Exchange* c = out.client();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->gateway->tries.size(), 1u);
  EXPECT_EQ(c->gateway->tries[0].status, 0) << "a status line without its head is no answer";
  EXPECT_EQ(c->gateway->tries[0].outcome, how);
  EXPECT_EQ(c->gateway->failure_origin, FailureOrigin::Upstream);
}

TEST(JoinWindowFailures, AResetInTheResponseHeadIsNoStatusAndTheBackendsDoing) {
  check_cut_head(Outcome::ConnectionReset);
}

TEST(JoinWindowFailures, ACloseInTheResponseHeadIsNoStatusAndTheBackendsDoing) {
  check_cut_head(Outcome::ConnectionClosed);
}

TEST(JoinWindowFailures, AWholeHeadThenAResetKeepsItsStatus) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20001, {.uri = "/reset-body", .status = 200, .req_start = 2,
                                     .req_end = 3, .resp_start = 5, .resp_end = 6,
                                     .outcome = Outcome::ConnectionReset}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/reset-body", .status = 200, .req_start = 0,
                                   .req_end = 1, .resp_start = 5, .resp_end = 7,
                                   .outcome = Outcome::ConnectionClosed}),
                Leg::Client, ms(0));
  w.finish();
  const Exchange* c = out.client();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->gateway->tries.size(), 1u);
  EXPECT_EQ(c->gateway->tries[0].status, 200);
}

TEST(JoinWindowFailures, AClientThatWentAwayKeepsTheAttemptItLeftBehind) {
  // The client gives up after 500 ms; nginx drops the attempt (499); the backend's answer
  // comes at 3 s, after the client left.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(client_leg(30001, {.uri = "/slow", .status = 0, .req_start = 0, .req_end = 1,
                                   .outcome = Outcome::ConnectionClosed}),
                Leg::Client, ms(0));
  w.on_exchange(upstream_leg(20001, {.uri = "/slow", .status = 200, .req_start = 2,
                                     .req_end = 3, .resp_start = 3000, .resp_end = 3001,
                                     .outcome = Outcome::ConnectionClosed}),
                Leg::Upstream, ms(500));
  // An attempt for another target is not it.
  w.on_exchange(upstream_leg(20002, {.uri = "/other", .status = 200, .req_start = 4,
                                     .req_end = 5, .resp_start = 6, .resp_end = 7}),
                Leg::Upstream, ms(500));
  w.finish();
  const Exchange* c = out.client();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->gateway->tries.size(), 1u);
  EXPECT_EQ(c->gateway->tries[0].addr.port, 8081);
  EXPECT_EQ(c->gateway->failure_origin, FailureOrigin::Client);
  EXPECT_EQ(w.counters().joined_upstream, 1u);
  EXPECT_EQ(w.counters().unjoined_upstream, 1u);
}

TEST(JoinWindowFailures, AGrpcCallTheClientCancelledHasAnUnansweredAttempt) {
  // gateway-grpc: the client's 0.3 s deadline passes, it resets its stream (CANCEL); the
  // backend's DEADLINE_EXCEEDED comes just after, on the keep-alive upstream connection.
  // nginx logs 499 and no upstream status.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  Exchange cancelled = client_leg(30001, {.method = "POST", .uri = "/pkg.Svc/Slow", .status = 0,
                                          .req_start = 0, .req_end = 1,
                                          .outcome = Outcome::StreamReset});
  cancelled.error_detail = "RST_STREAM CANCEL from client";
  w.on_exchange(std::move(cancelled), Leg::Client, ms(0));
  w.on_exchange(upstream_leg(20001, {.method = "POST", .uri = "/pkg.Svc/Slow", .status = 200,
                                     .req_start = 2, .req_end = 3, .resp_start = 301,
                                     .resp_end = 301}),
                Leg::Upstream, ms(301));
  w.finish();
  const Exchange* c = out.client();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->gateway->tries.size(), 1u);
  EXPECT_EQ(c->gateway->tries[0].status, 0);
  EXPECT_EQ(c->gateway->tries[0].outcome, Outcome::Complete);
  EXPECT_LT(c->gateway->tries[0].latency_ms, 0);
  EXPECT_EQ(c->gateway->failure_origin, FailureOrigin::Client);
}

}  // namespace
}  // namespace offpath
