// Join evidence: request ids, timing, prefix rewrites given and learned.
#include "join/join_evidence.hpp"

#include <gtest/gtest.h>

#include "join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

TEST(RequestId, HeaderOrderAndTraceparent) {
  Spec s;
  s.request_headers = {{"X-Correlation-ID", "corr"}, {"X-Request-ID", "req"}};
  EXPECT_EQ(request_id(client_leg(1, s), ""), "req");
  s.request_headers = {{"X-Correlation-ID", "corr"}, {"X-Trace", "mine"}};
  EXPECT_EQ(request_id(client_leg(1, s), ""), "corr");
  EXPECT_EQ(request_id(client_leg(1, s), "x-trace"), "mine");
  s.request_headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  EXPECT_EQ(request_id(client_leg(1, s), ""), "4bf92f3577b34da6a3ce929d0e0e4736");
  s.request_headers = {};
  s.response_headers = {{"X-Request-ID", "from-response"}};
  EXPECT_EQ(request_id(client_leg(1, s), ""), "from-response");
  s.response_headers = {};
  EXPECT_EQ(request_id(client_leg(1, s), ""), "");
}

TEST(Timing, UpstreamInsideTheClientExchange) {
  const Exchange c = client_leg(1, {.req_start = 0, .req_end = 2, .resp_start = 20, .resp_end = 21});
  EXPECT_TRUE(timing_fits(c, upstream_leg(2, {.req_start = 3, .req_end = 4, .resp_start = 10,
                                              .resp_end = 19})));
  // Starts before the client's headers were complete.
  EXPECT_FALSE(timing_fits(c, upstream_leg(2, {.req_start = 1, .req_end = 4, .resp_start = 10,
                                               .resp_end = 19})));
  // Ends after the client response started: a body the gateway streams on.
  EXPECT_TRUE(timing_fits(c, upstream_leg(2, {.req_start = 3, .req_end = 4, .resp_start = 10,
                                              .resp_end = 25})));
  // Starts after the client response started.
  EXPECT_FALSE(timing_fits(c, upstream_leg(2, {.req_start = 22, .req_end = 23, .resp_start = 24,
                                               .resp_end = 25})));
}

TEST(Timing, AnAttemptAnsweredAfterTheGatewayGaveUpStillFits) {
  const Exchange c = client_leg(1, {.status = 504, .req_start = 0, .req_end = 2,
                                    .resp_start = 1000, .resp_end = 1001});
  const Exchange late = upstream_leg(2, {.req_start = 3, .req_end = 4, .resp_start = 3000,
                                         .resp_end = 3001, .outcome = Outcome::ConnectionReset});
  EXPECT_TRUE(answered_late(c, late));
  EXPECT_TRUE(timing_fits(c, late));
}

TEST(Timing, AClientThatWentAwayFitsAnyAttemptAfterItsRequest) {
  const Exchange gone = client_leg(1, {.status = 0, .req_start = 0, .req_end = 2,
                                       .outcome = Outcome::ConnectionClosed});
  EXPECT_TRUE(timing_fits(gone, upstream_leg(2, {.req_start = 3, .req_end = 4,
                                                 .resp_start = 3000, .resp_end = 3001})));
  EXPECT_FALSE(timing_fits(gone, upstream_leg(2, {.req_start = 1, .req_end = 4})));
}

TEST(Timing, AnAnswerAfterTheClientWentAwayCameTooLate) {
  // The client cancelled its HTTP/2 stream without a response: whatever the backend
  // answered, the gateway had nobody to pass it to.
  Exchange cancelled = client_leg(1, {.status = 0, .req_start = 0, .req_end = 2,
                                      .outcome = Outcome::StreamReset});
  cancelled.error_detail = "RST_STREAM CANCEL from client";
  const Exchange answered = upstream_leg(2, {.req_start = 3, .req_end = 4, .resp_start = 300,
                                             .resp_end = 301});
  EXPECT_TRUE(timing_fits(cancelled, answered));
  EXPECT_TRUE(answered_late(cancelled, answered));
  EXPECT_FALSE(answered_late(cancelled, upstream_leg(2, {.status = 0, .req_start = 3,
                                                         .req_end = 4})));
  // A capture that ended says nothing about who gave up.
  const Exchange ended = client_leg(1, {.status = 0, .req_start = 0, .req_end = 2,
                                        .outcome = Outcome::CaptureEnded});
  EXPECT_FALSE(answered_late(ended, answered));
}

TEST(PrefixRewrites, GivenSwapFitsOnlyAtABoundary) {
  PrefixRewrites r;
  ASSERT_TRUE(r.add("/api=/v1"));
  EXPECT_TRUE(r.fits("/api/x", "/v1/x"));
  EXPECT_TRUE(r.fits("/api?q=1", "/v1?q=1"));
  EXPECT_TRUE(r.fits("/same", "/same"));
  EXPECT_FALSE(r.fits("/apix/y", "/v1x/y"));  // not at a '/' or '?'
  EXPECT_FALSE(r.fits("/api/x", "/v1/y"));
  EXPECT_FALSE(r.add("no-equals"));
  EXPECT_FALSE(r.add("=/v1"));
}

TEST(PrefixRewrites, SwapOfTwoTargetsAndLearning) {
  std::string from, to;
  ASSERT_TRUE(PrefixRewrites::swap_of("/api/items?n=5", "/v1/items?n=5", from, to));
  EXPECT_EQ(from, "/api");
  EXPECT_EQ(to, "/v1");
  ASSERT_TRUE(PrefixRewrites::swap_of("/public/x", "/x", from, to));
  EXPECT_EQ(from, "/public");
  EXPECT_EQ(to, "");
  EXPECT_FALSE(PrefixRewrites::swap_of("/a/x?n=5", "/b/x?n=6", from, to));  // tails differ
  EXPECT_FALSE(PrefixRewrites::swap_of("/x", "/x", from, to));

  PrefixRewrites r;
  EXPECT_TRUE(r.learn("/api/items", "/v1/items"));
  EXPECT_FALSE(r.learn("/api/other", "/v1/other"));  // already known
  EXPECT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.fits("/api/orders/7", "/v1/orders/7"));
}

}  // namespace
}  // namespace offpath
