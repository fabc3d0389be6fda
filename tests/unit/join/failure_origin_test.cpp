// Failure origin: who produced the failure, one row per rule.
#include "join/failure_origin.hpp"

#include <gtest/gtest.h>

#include "join_fixtures.hpp"

namespace offpath {
namespace {

using namespace join_test;

UpstreamTry attempt(int status, Outcome outcome = Outcome::Complete) {
  UpstreamTry t;
  t.status = status;
  t.outcome = outcome;
  return t;
}

TEST(FailureOrigin, Table) {
  const Exchange ok = client_leg(1, {.status = 200});
  const Exchange e404 = client_leg(1, {.status = 404});
  const Exchange e502 = client_leg(1, {.status = 502});
  const Exchange e504 = client_leg(1, {.status = 504});
  const Exchange e413 = client_leg(1, {.status = 413});
  const Exchange e499 = client_leg(1, {.status = 499});
  const Exchange gone = client_leg(1, {.status = 0, .outcome = Outcome::ConnectionClosed});
  const Exchange ended = client_leg(1, {.status = 0, .outcome = Outcome::CaptureEnded});

  EXPECT_EQ(failure_origin(ok, {attempt(200)}, false), FailureOrigin::None);
  EXPECT_EQ(failure_origin(e404, {attempt(404)}, true), FailureOrigin::Upstream);
  EXPECT_EQ(failure_origin(e502, {attempt(502)}, true), FailureOrigin::Upstream);
  EXPECT_EQ(failure_origin(e502, {attempt(0, Outcome::ConnectionReset)}, true),
            FailureOrigin::Upstream);
  // The backend closed in the middle of its response head: nginx's 502 is its doing.
  EXPECT_EQ(failure_origin(e502, {attempt(0, Outcome::ConnectionClosed)}, true),
            FailureOrigin::Upstream);
  EXPECT_EQ(failure_origin(e502, {attempt(0, Outcome::ConnectionRefused)}, true),
            FailureOrigin::Gateway);
  EXPECT_EQ(failure_origin(e504, {attempt(0, Outcome::Timeout)}, true), FailureOrigin::Gateway);
  // A gateway that times out may reset the connection itself.
  EXPECT_EQ(failure_origin(e504, {attempt(0, Outcome::ConnectionReset)}, true),
            FailureOrigin::Gateway);
  EXPECT_EQ(failure_origin(e502, {}, true), FailureOrigin::Gateway);  // no attempt
  EXPECT_EQ(failure_origin(e413, {}, true), FailureOrigin::Gateway);
  EXPECT_EQ(failure_origin(e502, {attempt(200)}, true), FailureOrigin::Gateway);  // not its status
  EXPECT_EQ(failure_origin(e499, {attempt(0, Outcome::ConnectionClosed)}, true),
            FailureOrigin::Client);
  EXPECT_EQ(failure_origin(gone, {}, true), FailureOrigin::Client);
  EXPECT_EQ(failure_origin(ended, {}, true), FailureOrigin::None);
}

TEST(FailureOrigin, AnHttp2ClientThatResetItsStreamWentAway) {
  // A gRPC client whose deadline passed cancels the call (nginx's 499).
  Exchange cancelled = client_leg(1, {.status = 0, .outcome = Outcome::StreamReset});
  cancelled.error_detail = "RST_STREAM CANCEL from client";
  EXPECT_TRUE(client_went_away(cancelled));
  EXPECT_EQ(failure_origin(cancelled, {attempt(0)}, true), FailureOrigin::Client);
  // The gateway reset the stream: the client did not go away.
  Exchange reset = cancelled;
  reset.error_detail = "RST_STREAM INTERNAL_ERROR from server";
  EXPECT_FALSE(client_went_away(reset));
  EXPECT_EQ(failure_origin(reset, {}, true), FailureOrigin::None);
  // A response came before the client reset: the client saw it.
  EXPECT_FALSE(client_went_away(client_leg(1, {.status = 200, .outcome = Outcome::StreamReset})));
}

TEST(FailureOrigin, UnansweredMeansNoStatusLine) {
  EXPECT_TRUE(unanswered(attempt(0, Outcome::ConnectionRefused)));
  EXPECT_TRUE(unanswered(attempt(0, Outcome::Timeout)));
  EXPECT_TRUE(unanswered(attempt(0, Outcome::ConnectionReset)));
  EXPECT_FALSE(unanswered(attempt(503)));
}

}  // namespace
}  // namespace offpath
