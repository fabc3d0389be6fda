// Connection attempts (refused connects) given to client exchanges in the order a
// gateway's event loop serves them, on constructed exchanges timed in microseconds as the
// lab's nginx and HAProxy put them on the wire: requests back to back, retries in
// flight, health checks, a connect with no request near it, equal times.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "join/join_window.hpp"
#include "join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

JoinOptions options() {
  JoinOptions o;
  o.settle_micros = 3'000'000;
  o.window_micros = 10'000'000;
  return o;
}

TEST(JoinConnects, BackToBackRefusedRequestsTakeTheirConnectsInArrivalOrder) {
  // nginx, an upstream on a closed port: each request's only try is refused and the
  // client gets 502 at once. Two arrive 29 us apart, before either SYN leaves; the third
  // after both were answered.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 67), Leg::Upstream, us(67));
  w.on_exchange(refused_at(20002, 85), Leg::Upstream, us(85));
  w.on_exchange(client_at(30001, "/closed?n=1", 502, 0, 101), Leg::Client, us(106));
  w.on_exchange(client_at(30002, "/closed?n=2", 502, 29, 128), Leg::Client, us(133));
  w.on_exchange(refused_at(20003, 240), Leg::Upstream, us(240));
  w.on_exchange(client_at(30003, "/closed?n=3", 502, 200, 265), Leg::Client, us(270));
  w.finish();
  const char* uris[] = {"/closed?n=1", "/closed?n=2", "/closed?n=3"};
  const std::int64_t syns[] = {67, 85, 240};
  for (int i = 0; i < 3; ++i) {
    const auto& tries = out.tries(uris[i]);
    ASSERT_EQ(tries.size(), 1u) << uris[i];
    EXPECT_EQ(tries[0].outcome, Outcome::ConnectionRefused);
    EXPECT_EQ(tries[0].start, us(syns[i])) << uris[i];
    EXPECT_EQ(out.client(uris[i]).gateway->failure_origin, FailureOrigin::Gateway);
  }
  EXPECT_EQ(w.counters().ambiguous, 0u);
  EXPECT_EQ(w.counters().unjoined_upstream, 0u);
}

TEST(JoinConnects, RetryAfterARefusedConnectWithTwoRetriesInFlight) {
  // nginx round robin over a closed port and B. /retry?n=44 arrives first: its first try
  // is refused, and its retry's SYN to B leaves only after /retry?n=45's direct SYN to B
  // (the closest SYN after the RST is not its retry). Then the other way round: the first
  // arrival goes straight to B, the second is refused.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 72), Leg::Upstream, us(72));
  w.on_exchange(attempt_at(20002, "/retry?n=45", 103, 900), Leg::Upstream, us(905));
  w.on_exchange(client_at(30002, "/retry?n=45", 200, 11, 910), Leg::Client, us(915));
  w.on_exchange(attempt_at(20003, "/retry?n=44", 135, 950), Leg::Upstream, us(955));
  w.on_exchange(client_at(30001, "/retry?n=44", 200, 0, 960), Leg::Client, us(965));
  w.on_exchange(attempt_at(20004, "/retry?n=46", 1050, 1900), Leg::Upstream, us(1905));
  w.on_exchange(refused_at(20005, 1080), Leg::Upstream, us(1905));
  w.on_exchange(attempt_at(20006, "/retry?n=47", 1120, 1950), Leg::Upstream, us(1955));
  w.on_exchange(client_at(30003, "/retry?n=46", 200, 1000, 1910), Leg::Client, us(1915));
  w.on_exchange(client_at(30004, "/retry?n=47", 200, 1010, 1960), Leg::Client, us(1965));
  w.finish();
  const auto& a = out.tries("/retry?n=44");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(a[0].start, us(72));
  EXPECT_EQ(a[1].status, 200);
  ASSERT_EQ(out.tries("/retry?n=45").size(), 1u);
  EXPECT_EQ(out.tries("/retry?n=45")[0].status, 200);
  ASSERT_EQ(out.tries("/retry?n=46").size(), 1u);
  const auto& d = out.tries("/retry?n=47");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].start, us(1080));
  EXPECT_EQ(w.counters().retries, 2u);
  EXPECT_EQ(w.counters().ambiguous, 0u);
}

TEST(JoinConnects, AHealthCheckInsideARequestsWindowStaysUnjoined) {
  // A health check's refused connect while a request's attempt is under way, and one
  // just before a request arrives: the gateway was not waiting to act for anyone.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 2000), Leg::Upstream, us(2000));
  w.on_exchange(attempt_at(20002, "/ok?n=1", 40, 5000), Leg::Upstream, us(5005));
  w.on_exchange(client_at(30001, "/ok?n=1", 200, 0, 5010), Leg::Client, us(5015));
  w.on_exchange(refused_at(20003, 29990), Leg::Upstream, us(29990));
  w.on_exchange(attempt_at(20004, "/ok?n=2", 30040, 31000), Leg::Upstream, us(31005));
  w.on_exchange(client_at(30002, "/ok?n=2", 200, 30000, 31010), Leg::Client, us(31015));
  w.finish();
  ASSERT_EQ(out.tries("/ok?n=1").size(), 1u);
  EXPECT_EQ(out.tries("/ok?n=1")[0].status, 200);
  ASSERT_EQ(out.tries("/ok?n=2").size(), 1u);
  EXPECT_EQ(w.counters().unjoined_upstream, 2u);
  EXPECT_EQ(w.counters().retries, 0u);
  std::size_t alone = 0;
  for (const auto& e : out.out) {
    if (e.gateway->leg == Leg::Upstream && e.outcome == Outcome::ConnectionRefused) ++alone;
  }
  EXPECT_EQ(alone, 2u);  // published by themselves, "leg": "upstream"
}

TEST(JoinConnects, ARefusedConnectWithNoClientRequestNearItStaysAlone) {
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 0), Leg::Upstream, us(0));
  // A request 50 ms later; one that arrived 20 ms before (a gateway acts on a request
  // within 10 ms); one that arrived 5 ms before but for which the gateway did nothing
  // until its 502 40 ms later (not waiting on this connect).
  w.on_exchange(client_at(30001, "/early", 502, -20'000, 40'000), Leg::Client, us(40'005));
  w.on_exchange(client_at(30003, "/late", 502, -5'000, 40'000), Leg::Client, us(40'005));
  w.on_exchange(attempt_at(20002, "/x", 50'040, 51'000), Leg::Upstream, us(51'005));
  w.on_exchange(client_at(30002, "/x", 200, 50'000, 51'010), Leg::Client, us(51'015));
  w.finish();
  EXPECT_TRUE(out.tries("/early").empty());
  EXPECT_TRUE(out.tries("/late").empty());
  EXPECT_EQ(out.client("/late").gateway->failure_origin, FailureOrigin::Gateway);
  ASSERT_EQ(out.tries("/x").size(), 1u);
  EXPECT_EQ(w.counters().unjoined_upstream, 1u);
  EXPECT_EQ(w.counters().ambiguous, 0u);
}

TEST(JoinConnects, RequestsThatArriveTogetherLeaveTheirConnectsUnjoined) {
  // Two requests in the same microsecond: which one the gateway served first is not on
  // the wire. Both connects are ambiguous, neither request gets a try.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 50), Leg::Upstream, us(50));
  w.on_exchange(refused_at(20002, 60), Leg::Upstream, us(60));
  w.on_exchange(client_at(30001, "/closed?n=1", 502, 0, 80), Leg::Client, us(85));
  w.on_exchange(client_at(30002, "/closed?n=2", 502, 0, 90), Leg::Client, us(95));
  w.finish();
  EXPECT_TRUE(out.tries("/closed?n=1").empty());
  EXPECT_TRUE(out.tries("/closed?n=2").empty());
  EXPECT_EQ(w.counters().ambiguous, 2u);
  EXPECT_EQ(w.counters().unjoined_upstream, 2u);
}

TEST(JoinConnects, AConnectAfterAResetAttemptIsNotTakenAsTheLastTry) {
  // The backend resets; a refused connect (a health check, or the gateway's next try)
  // leaves before the gateway answers 502. When the gateway saw the reset is not on the
  // wire, so the connect is ambiguous: the last try stays the reset one, the origin the
  // backend's.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(attempt_at(20001, "/reset", 20, 0), Leg::Upstream, us(40));
  w.on_exchange(refused_at(20002, 200), Leg::Upstream, us(200));
  w.on_exchange(client_at(30001, "/reset", 502, 0, 260), Leg::Client, us(265));
  w.finish();
  const auto& tries = out.tries("/reset");
  ASSERT_EQ(tries.size(), 1u);
  EXPECT_EQ(tries[0].outcome, Outcome::ConnectionReset);
  EXPECT_EQ(out.client("/reset").gateway->failure_origin, FailureOrigin::Upstream);
  EXPECT_EQ(w.counters().ambiguous, 1u);
}

TEST(JoinConnects, AStatusLineCutByAResetIsNoAnswer) {
  // "HTTP/1.1 200 OK\r\nContent-" then a reset: the gateway never had the header block
  // and answered 502; the try has no status, and the failure is the backend's.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  Exchange up = attempt_at(20001, "/reset-head", 20, 100);
  up.response->headers_end = Timestamp{};
  up.response->complete = false;
  up.outcome = Outcome::ConnectionReset;
  w.on_exchange(std::move(up), Leg::Upstream, us(110));
  w.on_exchange(client_at(30001, "/reset-head", 502, 0, 150), Leg::Client, us(155));
  w.finish();
  const auto& tries = out.tries("/reset-head");
  ASSERT_EQ(tries.size(), 1u);
  EXPECT_EQ(tries[0].status, 0);
  EXPECT_LT(tries[0].latency_ms, 0);
  EXPECT_EQ(out.client("/reset-head").gateway->failure_origin, FailureOrigin::Upstream);
}

TEST(JoinConnects, ConnectsAreGivenOutOnlyOnceTheSettleTimeHasPassed) {
  // Emission order: the refused connect is reported at its RST, long before the client
  // exchange that owns it ends (its response comes after a slow retry). The connect must
  // wait for it, through the watermark.
  Collector out;
  JoinWindow w(options(), ClassifyOptions{}, out);
  w.on_exchange(refused_at(20001, 50), Leg::Upstream, us(55));
  w.advance(us(2'000'000));
  EXPECT_TRUE(out.out.empty());
  w.on_exchange(attempt_at(20002, "/retry?n=1", 80, 2'500'000), Leg::Upstream, us(2'500'005));
  w.on_exchange(client_at(30001, "/retry?n=1", 200, 0, 2'500'010), Leg::Client, us(2'500'015));
  w.advance(us(3'100'000));  // past the connect's settle time, not yet the client's
  EXPECT_TRUE(out.out.empty());
  w.advance(us(6'000'000));
  ASSERT_EQ(out.out.size(), 1u);
  const auto& tries = out.tries("/retry?n=1");
  ASSERT_EQ(tries.size(), 2u);
  EXPECT_EQ(tries[0].outcome, Outcome::ConnectionRefused);
  EXPECT_EQ(tries[1].status, 200);
  EXPECT_EQ(w.counters().pending, 0u);
}

}  // namespace
}  // namespace offpath
