// The join window on constructed exchanges: many overlapping connections, retries,
// rewrites, request ids, ambiguity, legs whose other leg was never captured, --legs, the
// settle time and the limits.
#include "join/join_window.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

JoinOptions options(LegsMode legs = LegsMode::Joined) {
  JoinOptions o;
  o.legs = legs;
  o.settle_micros = 1'000'000;
  o.window_micros = 10'000'000;
  return o;
}

const Timestamp kLongAfter = ms(600'000);

TEST(JoinWindow, OverlappingRequestsOnManyConnectionsJoinByTarget) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  constexpr int kN = 60;
  // Request i: client leg from i*5 ms to i*5+40 ms, its attempt inside it; all overlap.
  for (int i = 0; i < kN; ++i) {
    const std::string uri = "/items?n=" + std::to_string(i);
    const std::int64_t t = i * 5;
    w.on_exchange(upstream_leg(static_cast<std::uint16_t>(20000 + i),
                               {.uri = uri, .status = 200 + (i % 3), .req_start = t + 2,
                                .req_end = t + 3, .resp_start = t + 20, .resp_end = t + 30}),
                  Leg::Upstream, ms(t));
  }
  for (int i = kN - 1; i >= 0; --i) {  // clients in the reverse order
    const std::string uri = "/items?n=" + std::to_string(i);
    const std::int64_t t = i * 5;
    w.on_exchange(client_leg(static_cast<std::uint16_t>(30000 + i),
                             {.uri = uri, .status = 200 + (i % 3), .req_start = t, .req_end = t + 1,
                              .resp_start = t + 31, .resp_end = t + 40}),
                  Leg::Client, ms(400));
  }
  EXPECT_TRUE(out.out.empty());  // all still settling
  w.advance(kLongAfter);
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), static_cast<std::size_t>(kN));
  for (const Exchange* c : clients) {
    ASSERT_EQ(c->gateway->tries.size(), 1u) << c->request->uri;
    EXPECT_EQ(c->gateway->tries[0].uri, c->request->uri);
    EXPECT_EQ(c->gateway->tries[0].status, c->response->status);
    EXPECT_EQ(c->gateway->tries[0].addr.port, 8081);
  }
  EXPECT_TRUE(out.leg(Leg::Upstream).empty());  // joined ones are not published again
  EXPECT_EQ(w.counters().joined, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(w.counters().joined_upstream, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(w.counters().ambiguous, 0u);
  EXPECT_EQ(w.bytes(), 0u);
}

TEST(JoinWindow, IdenticalOverlappingRequestsAreAmbiguousNotGuessed) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20001, {.uri = "/same", .req_start = 3, .req_end = 4,
                                     .resp_start = 10, .resp_end = 11}),
                Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20002, {.uri = "/same", .req_start = 5, .req_end = 6,
                                     .resp_start = 12, .resp_end = 13}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/same", .req_start = 0, .req_end = 1,
                                   .resp_start = 20, .resp_end = 21}),
                Leg::Client, ms(0));
  w.on_exchange(client_leg(30002, {.uri = "/same", .req_start = 1, .req_end = 2,
                                   .resp_start = 22, .resp_end = 23}),
                Leg::Client, ms(0));
  w.finish();
  for (const Exchange* c : out.leg(Leg::Client)) EXPECT_TRUE(c->gateway->tries.empty());
  EXPECT_GE(w.counters().ambiguous, 2u);
  EXPECT_EQ(w.counters().joined, 0u);
  EXPECT_EQ(w.counters().unjoined_upstream, 2u);
  EXPECT_EQ(out.leg(Leg::Upstream).size(), 2u);  // published alone
}

TEST(JoinWindow, RequestIdsTellIdenticalOverlappingRequestsApart) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  auto with_id = [](Spec s, const char* id) {
    s.request_headers = {{"X-Request-ID", id}};
    return s;
  };
  w.on_exchange(upstream_leg(20001, with_id({.uri = "/same", .status = 201, .req_start = 3,
                                             .req_end = 4, .resp_start = 10, .resp_end = 11},
                                            "b")),
                Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20002, with_id({.uri = "/same", .status = 202, .req_start = 5,
                                             .req_end = 6, .resp_start = 12, .resp_end = 13},
                                            "a")),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, with_id({.uri = "/same", .status = 202, .req_start = 0,
                                           .req_end = 1, .resp_start = 20, .resp_end = 21},
                                          "a")),
                Leg::Client, ms(0));
  w.on_exchange(client_leg(30002, with_id({.uri = "/same", .status = 201, .req_start = 1,
                                           .req_end = 2, .resp_start = 22, .resp_end = 23},
                                          "b")),
                Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 2u);
  for (const Exchange* c : clients) {
    ASSERT_EQ(c->gateway->tries.size(), 1u);
    EXPECT_EQ(c->gateway->tries[0].status, c->response->status);
  }
  EXPECT_EQ(w.counters().ambiguous, 0u);
}

TEST(JoinWindow, RetriesJoinInOrder) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // A refused connect to one backend, a 502 from another, then a 200 from a third.
  w.on_exchange(refused(20001, 3), Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20002, {.uri = "/r", .status = 502, .req_start = 4, .req_end = 5,
                                     .resp_start = 6, .resp_end = 7}, kBackendB),
                Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20003, {.uri = "/r", .status = 200, .req_start = 8, .req_end = 9,
                                     .resp_start = 10, .resp_end = 11}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/r", .status = 200, .req_start = 0, .req_end = 1,
                                   .resp_start = 12, .resp_end = 13}),
                Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 1u);
  const auto& tries = clients[0]->gateway->tries;
  ASSERT_EQ(tries.size(), 3u);
  EXPECT_EQ(tries[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(tries[0].addr.port, 8089);
  EXPECT_EQ(tries[1].status, 502);
  EXPECT_EQ(tries[2].status, 200);
  EXPECT_EQ(w.counters().retries, 2u);
  EXPECT_EQ(clients[0]->gateway->failure_origin, FailureOrigin::None);
}

TEST(JoinWindow, ConnectAttemptsJoinOnlyWhereTheGatewayWentOnAtOnce) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // A: refused, the gateway answers 502 at once. B: refused, then the next backend at
  // once. C: a refused health check long before its attempt stays alone.
  w.on_exchange(refused(20001, 3), Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/closed", .status = 502, .req_start = 0,
                                   .req_end = 1, .resp_start = 4, .resp_end = 5}),
                Leg::Client, ms(0));
  w.on_exchange(refused(20002, 103), Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20003, {.uri = "/retry", .req_start = 104, .req_end = 105,
                                     .resp_start = 106, .resp_end = 107}, kBackendB),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30002, {.uri = "/retry", .req_start = 100, .req_end = 101,
                                   .resp_start = 108, .resp_end = 109}),
                Leg::Client, ms(0));
  w.on_exchange(refused(20004, 200), Leg::Upstream, ms(0));  // before C's request
  w.on_exchange(upstream_leg(20005, {.uri = "/c", .req_start = 302, .req_end = 303,
                                     .resp_start = 306, .resp_end = 307}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30003, {.uri = "/c", .req_start = 300, .req_end = 301,
                                   .resp_start = 308, .resp_end = 309}),
                Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 3u);
  ASSERT_EQ(clients[0]->gateway->tries.size(), 1u);
  EXPECT_EQ(clients[0]->gateway->tries[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(clients[0]->gateway->failure_origin, FailureOrigin::Gateway);
  ASSERT_EQ(clients[1]->gateway->tries.size(), 2u);
  EXPECT_EQ(clients[1]->gateway->tries[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(clients[1]->gateway->tries[1].status, 200);
  ASSERT_EQ(clients[2]->gateway->tries.size(), 1u);
  EXPECT_EQ(clients[2]->gateway->tries[0].status, 200);
  EXPECT_EQ(w.counters().unjoined_upstream, 1u);  // the health check
}

TEST(JoinWindow, ARefusedConnectLongBeforeTheNextAttemptIsNotItsTry) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // Refused at 5 ms, the next backend's connection one second later: not one chain.
  w.on_exchange(refused(20001, 5), Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20002, {.uri = "/retry", .req_start = 1005, .req_end = 1006,
                                     .resp_start = 1007, .resp_end = 1008}, kBackendB),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/retry", .req_start = 0, .req_end = 1,
                                   .resp_start = 1009, .resp_end = 1010}),
                Leg::Client, ms(0));
  // A client exchange answered 502 one second after a refused connect: not its attempt.
  w.on_exchange(refused(20003, 2005), Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30002, {.uri = "/x", .status = 502, .req_start = 2000,
                                   .req_end = 2001, .resp_start = 3005, .resp_end = 3006}),
                Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 2u);
  ASSERT_EQ(clients[0]->gateway->tries.size(), 1u);
  EXPECT_EQ(clients[0]->gateway->tries[0].status, 200);
  EXPECT_TRUE(clients[1]->gateway->tries.empty());
  EXPECT_EQ(w.counters().unjoined_upstream, 2u);
}

TEST(JoinWindow, ARetryOnAReusedConnectionStillTakesItsRefusedConnect) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused(20001, 2), Leg::Upstream, ms(0));
  Exchange again = upstream_leg(20002, {.uri = "/retry", .req_start = 3, .req_end = 4,
                                        .resp_start = 5, .resp_end = 6}, kBackendB);
  again.index = 7;  // the gateway's keep-alive connection to that backend
  again.connection_start = ms(-60'000);
  w.on_exchange(std::move(again), Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/retry", .req_start = 0, .req_end = 1,
                                   .resp_start = 7, .resp_end = 8}),
                Leg::Client, ms(0));
  w.finish();
  const auto& tries = out.leg(Leg::Client)[0]->gateway->tries;
  ASSERT_EQ(tries.size(), 2u);
  EXPECT_EQ(tries[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(tries[1].status, 200);
}

TEST(JoinWindow, ConnectAttemptsOfRequestsAtOnceGoToTheClosest) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // Two requests 3 ms apart, each refused right after it and answered 502 at once.
  w.on_exchange(refused(20001, 1), Leg::Upstream, ms(0));
  w.on_exchange(refused(20002, 4), Leg::Upstream, ms(0));
  Exchange a = client_leg(30001, {.uri = "/closed", .status = 502});
  Exchange b = client_leg(30002, {.uri = "/closed", .status = 502});
  a.request->first_byte = a.request->headers_end = a.request->last_byte = ms(0);
  a.response->first_byte = Timestamp{ms(1).micros + 100};
  a.response->last_byte = ms(2);
  b.request->first_byte = b.request->headers_end = b.request->last_byte = ms(3);
  b.response->first_byte = Timestamp{ms(4).micros + 100};
  b.response->last_byte = ms(5);
  w.on_exchange(std::move(b), Leg::Client, ms(0));  // decided first
  w.on_exchange(std::move(a), Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 2u);
  for (const Exchange* c : clients) {
    ASSERT_EQ(c->gateway->tries.size(), 1u);
    EXPECT_EQ(c->gateway->tries[0].start.micros + 100, c->response->first_byte.micros);
  }
}

TEST(JoinWindow, AWholeAnswerAfterTheGatewayGaveUpIsNoStatus) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20001, {.uri = "/slow", .status = 200, .req_start = 2,
                                     .req_end = 3, .resp_start = 3000, .resp_end = 3001}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/slow", .status = 504, .req_start = 0, .req_end = 1,
                                   .resp_start = 1003, .resp_end = 1004}),
                Leg::Client, ms(0));
  w.finish();
  const auto& g = *out.leg(Leg::Client)[0]->gateway;
  ASSERT_EQ(g.tries.size(), 1u);
  EXPECT_EQ(g.tries[0].status, 0);
  EXPECT_EQ(g.tries[0].outcome, Outcome::Timeout);
  EXPECT_EQ(g.failure_origin, FailureOrigin::Gateway);
}

TEST(JoinWindow, OverlappingAttemptsAreNoRetries) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20001, {.uri = "/r", .req_start = 3, .req_end = 4,
                                     .resp_start = 8, .resp_end = 9}),
                Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20002, {.uri = "/r", .req_start = 5, .req_end = 6,
                                     .resp_start = 10, .resp_end = 11}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/r", .req_start = 0, .req_end = 1,
                                   .resp_start = 12, .resp_end = 13}),
                Leg::Client, ms(0));
  w.finish();
  EXPECT_TRUE(out.leg(Leg::Client)[0]->gateway->tries.empty());
  EXPECT_EQ(w.counters().ambiguous, 2u);
}

TEST(JoinWindow, RewriteLearnedFromAnUnambiguousPairThenUsed) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20001, {.uri = "/v1/items?n=1", .req_start = 3, .req_end = 4,
                                     .resp_start = 8, .resp_end = 9}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/api/items?n=1", .req_start = 0, .req_end = 1,
                                   .resp_start = 10, .resp_end = 11}),
                Leg::Client, ms(0));
  w.advance(ms(5'000));
  ASSERT_EQ(out.leg(Leg::Client).size(), 1u);
  EXPECT_EQ(out.leg(Leg::Client)[0]->gateway->tries.size(), 1u);
  EXPECT_EQ(w.counters().rewrites_learned, 1u);
  // Two overlapping requests now join by the learned swap.
  w.on_exchange(upstream_leg(20002, {.uri = "/v1/orders", .req_start = 6003, .req_end = 6004,
                                     .resp_start = 6008, .resp_end = 6009}),
                Leg::Upstream, ms(6000));
  w.on_exchange(upstream_leg(20003, {.uri = "/v1/users", .req_start = 6004, .req_end = 6005,
                                     .resp_start = 6009, .resp_end = 6010}),
                Leg::Upstream, ms(6000));
  w.on_exchange(client_leg(30002, {.uri = "/api/users", .req_start = 6000, .req_end = 6001,
                                   .resp_start = 6012, .resp_end = 6013}),
                Leg::Client, ms(6000));
  w.on_exchange(client_leg(30003, {.uri = "/api/orders", .req_start = 6001, .req_end = 6002,
                                   .resp_start = 6011, .resp_end = 6012}),
                Leg::Client, ms(6000));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 3u);
  for (const Exchange* c : clients) {
    ASSERT_EQ(c->gateway->tries.size(), 1u);
    EXPECT_EQ("/api" + c->gateway->tries[0].uri.substr(3), c->request->uri);
  }
}

TEST(JoinWindow, GivenRewriteJoinsFromTheStart) {
  Collector out;
  JoinOptions o = options();
  ASSERT_TRUE(o.rewrites.add("/api=/v1"));
  JoinWindow w(std::move(o), ClassifyOptions{}, out);
  w.on_exchange(upstream_leg(20002, {.uri = "/v1/a", .req_start = 3, .req_end = 4,
                                     .resp_start = 8, .resp_end = 9}),
                Leg::Upstream, ms(0));
  w.on_exchange(upstream_leg(20003, {.uri = "/v1/b", .req_start = 4, .req_end = 5,
                                     .resp_start = 9, .resp_end = 10}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30002, {.uri = "/api/b", .req_start = 0, .req_end = 1,
                                   .resp_start = 12, .resp_end = 13}),
                Leg::Client, ms(0));
  w.on_exchange(client_leg(30003, {.uri = "/api/a", .req_start = 1, .req_end = 2,
                                   .resp_start = 11, .resp_end = 12}),
                Leg::Client, ms(0));
  w.finish();
  for (const Exchange* c : out.leg(Leg::Client)) {
    ASSERT_EQ(c->gateway->tries.size(), 1u);
    EXPECT_EQ(c->gateway->tries[0].uri.back(), c->request->uri.back());
  }
  EXPECT_EQ(w.counters().rewrites_learned, 0u);
}

TEST(JoinWindow, ALegWhoseOtherLegWasNeverCaptured) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // A client exchange the gateway answered 502 with no attempt on the wire.
  w.on_exchange(client_leg(30001, {.uri = "/x", .status = 502, .req_start = 0, .req_end = 1,
                                   .resp_start = 5, .resp_end = 6}),
                Leg::Client, ms(0));
  // An attempt whose client exchange was never seen.
  w.on_exchange(upstream_leg(20001, {.uri = "/y", .req_start = 100, .req_end = 101,
                                     .resp_start = 105, .resp_end = 106}),
                Leg::Upstream, ms(100));
  w.advance(ms(2'000));  // past the settle time, not past the window
  ASSERT_EQ(out.out.size(), 1u);
  const Exchange& c = out.out[0];
  EXPECT_EQ(c.gateway->leg, Leg::Client);
  EXPECT_TRUE(c.gateway->tries.empty());
  EXPECT_EQ(c.gateway->failure_origin, FailureOrigin::Gateway);
  EXPECT_EQ(classify(c, ClassifyOptions{}).error_type, ErrorType::BackendUnavailable);
  w.advance(ms(10'200));  // past the window: the attempt alone
  ASSERT_EQ(out.out.size(), 2u);
  EXPECT_EQ(out.out[1].gateway->leg, Leg::Upstream);
  EXPECT_FALSE(out.out[1].gateway->joined);
  EXPECT_EQ(w.counters().unjoined_client, 1u);
  EXPECT_EQ(w.counters().unjoined_upstream, 1u);
}

TEST(JoinWindow, ErrorTypeSaysWhoFailed) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  // The backend itself answers 503: a server error from upstream, not unavailability.
  w.on_exchange(upstream_leg(20001, {.uri = "/u", .status = 503, .req_start = 3, .req_end = 4,
                                     .resp_start = 8, .resp_end = 9}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30001, {.uri = "/u", .status = 503, .req_start = 0, .req_end = 1,
                                   .resp_start = 10, .resp_end = 11}),
                Leg::Client, ms(0));
  // The backend never answers: the gateway's 504.
  w.on_exchange(upstream_leg(20002, {.uri = "/t", .status = 200, .req_start = 103,
                                     .req_end = 104, .resp_start = 3000, .resp_end = 3001,
                                     .outcome = Outcome::ConnectionReset}),
                Leg::Upstream, ms(0));
  w.on_exchange(client_leg(30002, {.uri = "/t", .status = 504, .req_start = 100, .req_end = 101,
                                   .resp_start = 1104, .resp_end = 1105}),
                Leg::Client, ms(0));
  w.finish();
  const auto clients = out.leg(Leg::Client);
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients[0]->gateway->failure_origin, FailureOrigin::Upstream);
  EXPECT_EQ(classify(*clients[0], ClassifyOptions{}).error_type, ErrorType::ServerError);
  ASSERT_EQ(clients[1]->gateway->tries.size(), 1u);
  EXPECT_EQ(clients[1]->gateway->tries[0].status, 0);
  EXPECT_EQ(clients[1]->gateway->tries[0].outcome, Outcome::Timeout);
  EXPECT_EQ(clients[1]->gateway->failure_origin, FailureOrigin::Gateway);
  EXPECT_EQ(classify(*clients[1], ClassifyOptions{}).error_type, ErrorType::BackendUnavailable);
}

TEST(JoinWindow, LegsChooseWhatIsPublished) {
  using Published = std::pair<std::size_t, std::size_t>;  // client records, upstream records
  auto run = [](LegsMode legs, JoinCounters& counters) {
    Collector out;
    JoinWindow w(options(legs), ClassifyOptions{}, out);
    w.on_exchange(upstream_leg(20001, {.uri = "/j", .req_start = 3, .req_end = 4,
                                       .resp_start = 8, .resp_end = 9}),
                  Leg::Upstream, ms(0));
    w.on_exchange(client_leg(30001, {.uri = "/j", .req_start = 0, .req_end = 1,
                                     .resp_start = 10, .resp_end = 11}),
                  Leg::Client, ms(0));
    w.on_exchange(upstream_leg(20002, {.uri = "/alone", .req_start = 500, .req_end = 501,
                                       .resp_start = 502, .resp_end = 503}),
                  Leg::Upstream, ms(500));
    w.finish();
    counters = w.counters();
    return Published(out.leg(Leg::Client).size(), out.leg(Leg::Upstream).size());
  };
  JoinCounters c;
  EXPECT_EQ(run(LegsMode::Joined, c), Published(1, 1));
  EXPECT_EQ(c.left_out, 0u);
  EXPECT_EQ(run(LegsMode::Client, c), Published(1, 0));
  EXPECT_EQ(c.left_out, 1u);
  EXPECT_EQ(run(LegsMode::Upstream, c), Published(0, 2));
  EXPECT_EQ(c.left_out, 1u);
  EXPECT_EQ(run(LegsMode::All, c), Published(1, 2));
}

TEST(JoinWindow, BoundedByCountAndBytes) {
  Collector out;
  JoinOptions o = options();
  o.max_exchanges = 16;
  JoinWindow w(std::move(o), ClassifyOptions{}, out);
  for (int i = 0; i < 100; ++i) {
    w.on_exchange(upstream_leg(static_cast<std::uint16_t>(20000 + i),
                               {.uri = "/n" + std::to_string(i), .req_start = i, .req_end = i,
                                .resp_start = i + 1, .resp_end = i + 1}),
                  Leg::Upstream, ms(0));
    EXPECT_LE(w.counters().pending, 16u);
  }
  EXPECT_EQ(w.counters().overflows, 84u);
  EXPECT_EQ(out.out.size(), 84u);
  EXPECT_GT(w.bytes(), 16 * sizeof(Exchange));
  w.finish();
  EXPECT_EQ(w.bytes(), 0u);
  EXPECT_EQ(out.out.size(), 100u);

  Collector out2;
  JoinOptions small = options();
  small.max_bytes = 4 * estimated_bytes(upstream_leg(1, {.uri = "/n0"}));
  JoinWindow w2(std::move(small), ClassifyOptions{}, out2);
  for (int i = 0; i < 20; ++i) {
    w2.on_exchange(upstream_leg(static_cast<std::uint16_t>(20000 + i), {.uri = "/n0"}),
                   Leg::Upstream, ms(0));
    EXPECT_LE(w2.bytes(), 4 * estimated_bytes(upstream_leg(1, {.uri = "/n0"})) + 64);
  }
  EXPECT_GE(w2.counters().overflows, 15u);
}

TEST(JoinWindow, KeepsUpWithThousandsOfRequestsASecond) {
  // 21,000 requests at 2,100 a second of packet time, each 30 ms long (about 64 in
  // flight), each its own target, half of them rewritten /api/ -> /v1/; one in 35 is
  // refused by its backend and answered 502 by the gateway. Fed in emission order: each
  // attempt when its response ends, each client exchange when its response ends.
  Collector out;
  JoinOptions o = options();
  o.settle_micros = 3'000'000;
  JoinWindow w(std::move(o), ClassifyOptions{}, out);
  constexpr int kRequests = 21'000;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<std::int64_t, int>> events;  // (time us, +i upstream / -i-1 client)
  for (int i = 0; i < kRequests; ++i) {
    const std::int64_t t = static_cast<std::int64_t>(i) * 1'000'000 / 2100;
    events.emplace_back(t + 25'000, i);
    events.emplace_back(t + 30'000, -i - 1);
  }
  std::sort(events.begin(), events.end());
  for (const auto& [when, what] : events) {
    const bool up = what >= 0;
    const int i = up ? what : -what - 1;
    const std::int64_t t0 = static_cast<std::int64_t>(i) * 1'000'000 / 2100;
    auto at = [t0](std::int64_t us) { return Timestamp{1'000'000'000 + t0 + us}; };
    const bool refused_one = i % 35 == 0;
    const std::string n = std::to_string(i);
    if (up) {
      Exchange e;
      if (refused_one) {
        e = refused(static_cast<std::uint16_t>(i), 0);
        e.connection_start = at(2'000);
      } else {
        e = upstream_leg(static_cast<std::uint16_t>(i),
                         {.uri = (i % 2 ? "/v1/items?n=" : "/ok?n=") + n});
        e.request->first_byte = e.request->headers_end = e.request->last_byte = at(2'000);
        e.response->first_byte = at(20'000);
        e.response->last_byte = at(25'000);
      }
      w.on_exchange(std::move(e), Leg::Upstream, at(25'000));
    } else {
      Exchange e = client_leg(static_cast<std::uint16_t>(i),
                              {.uri = (i % 2 ? "/api/items?n=" : "/ok?n=") + n,
                               .status = refused_one ? 502 : 200});
      e.request->first_byte = at(0);
      e.request->headers_end = e.request->last_byte = at(1'000);
      e.response->first_byte = at(refused_one ? 2'100 : 26'000);
      e.response->last_byte = at(30'000);
      w.on_exchange(std::move(e), Leg::Client, at(30'000));
    }
  }
  w.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("join of %d requests: %.3f s\n", kRequests, seconds);
  EXPECT_EQ(w.counters().joined, static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(w.counters().ambiguous, 0u);
  EXPECT_EQ(w.counters().unjoined_upstream, 0u);
  EXPECT_LT(seconds, 2.0);  // ten seconds of traffic in well under ten
}

TEST(JoinWindow, ClientWaitsForTheSettleTime) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(client_leg(30001, {.uri = "/s", .req_start = 0, .req_end = 1, .resp_start = 10,
                                   .resp_end = 11}),
                Leg::Client, ms(11));
  w.advance(ms(1'010));
  EXPECT_TRUE(out.out.empty());
  // An attempt reported late (another worker) still joins within the settle time.
  w.on_exchange(upstream_leg(20001, {.uri = "/s", .req_start = 2, .req_end = 3,
                                     .resp_start = 5, .resp_end = 6}),
                Leg::Upstream, ms(1'010));
  w.advance(ms(1'011));
  ASSERT_EQ(out.out.size(), 1u);
  EXPECT_EQ(out.out[0].gateway->tries.size(), 1u);
}

// HTTP/2: streams of one client connection, each joined to its own upstream stream.
TEST(JoinWindow, ConcurrentStreamsJoinByPathAndAreAmbiguousOnOneMethodWithoutIds) {
  // Six gRPC calls in flight at once on one client connection (gateway-grpc), each to
  // its own method: each joins its own attempt.
  {
    Collector out;
    JoinWindow w(options(), ClassifyOptions{}, out);
    for (int i = 0; i < 6; ++i) {
      const std::string path = "/pkg.Svc/Part" + std::to_string(i);
      w.on_exchange(client_leg(30001, {.method = "POST", .uri = path, .req_start = i,
                                       .req_end = i, .resp_start = 200 + i, .resp_end = 201 + i}),
                    Leg::Client, ms(0));
      w.on_exchange(upstream_leg(static_cast<std::uint16_t>(20000 + i),
                                 {.method = "POST", .uri = path, .req_start = 10 + i,
                                  .req_end = 10 + i, .resp_start = 199 + i, .resp_end = 199 + i}),
                    Leg::Upstream, ms(0));
    }
    w.finish();
    const auto clients = out.leg(Leg::Client);
    ASSERT_EQ(clients.size(), 6u);
    for (const Exchange* c : clients) {
      ASSERT_EQ(c->gateway->tries.size(), 1u) << c->request->uri;
      EXPECT_EQ(c->gateway->tries[0].uri, c->request->uri);
    }
    EXPECT_EQ(w.counters().ambiguous, 0u);
  }
  // Two calls to one method at once: each attempt fits both by timing. Without a request
  // id nothing is guessed; with one (the gateway sets it on both legs) each joins its own.
  for (const bool ids : {false, true}) {
    Collector out;
    JoinWindow w(options(), ClassifyOptions{}, out);
    for (int i = 0; i < 2; ++i) {
      Spec c{.method = "POST", .uri = "/pkg.Svc/Get", .req_start = i, .req_end = i,
             .resp_start = 100 + i, .resp_end = 101 + i};
      Spec u{.method = "POST", .uri = "/pkg.Svc/Get", .req_start = 5 + i, .req_end = 5 + i,
             .resp_start = 99 + i, .resp_end = 99 + i};
      if (ids) {
        c.response_headers = {{"x-request-id", "id" + std::to_string(i)}};
        u.request_headers = {{"x-request-id", "id" + std::to_string(i)}};
      }
      w.on_exchange(client_leg(30001, c), Leg::Client, ms(0));
      w.on_exchange(upstream_leg(static_cast<std::uint16_t>(20000 + i), u), Leg::Upstream,
                    ms(0));
    }
    w.finish();
    const auto clients = out.leg(Leg::Client);
    ASSERT_EQ(clients.size(), 2u);
    for (const Exchange* c : clients) {
      EXPECT_EQ(c->gateway->tries.size(), ids ? 1u : 0u) << ids;
      if (ids) {
        EXPECT_EQ(c->gateway->tries[0].start.micros, c->request->first_byte.micros + 5'000);
      }
    }
    EXPECT_EQ(w.counters().ambiguous > 0, !ids);
    EXPECT_EQ(w.counters().unjoined_upstream, ids ? 0u : 2u);
  }
}

}  // namespace
}  // namespace offpath
