// classify(): status and outcome -> error_type and failed, one table row per rule.
#include "exchange/classify.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace offpath {
namespace {

Exchange with_status(int status, std::int64_t latency_us = 1000) {
  Exchange e;
  e.request.emplace();
  e.request->first_byte = Timestamp{1'000'000};
  e.response.emplace();
  e.response->kind = MessageKind::Response;
  e.response->status = status;
  e.response->first_byte = Timestamp{1'000'000 + latency_us / 2};
  e.response->last_byte = Timestamp{1'000'000 + latency_us};
  e.response->complete = true;
  return e;
}

Exchange without_response(Outcome o) {
  Exchange e;
  e.request.emplace();
  e.request->first_byte = Timestamp{1'000'000};
  e.outcome = o;
  return e;
}

struct Row {
  const char* description;
  Exchange exchange;
  ErrorType type;
  bool failed;
};

TEST(Classify, DefaultTable) {
  std::vector<Row> rows = {
      {"200", with_status(200), ErrorType::None, false},
      {"204", with_status(204), ErrorType::None, false},
      {"301", with_status(301), ErrorType::None, false},
      {"399", with_status(399), ErrorType::None, false},
      {"400", with_status(400), ErrorType::ClientError, true},
      {"404", with_status(404), ErrorType::ClientError, true},
      {"499", with_status(499), ErrorType::ClientError, true},
      {"500", with_status(500), ErrorType::ServerError, true},
      {"501", with_status(501), ErrorType::ServerError, true},
      {"502", with_status(502), ErrorType::BackendUnavailable, true},
      {"503", with_status(503), ErrorType::BackendUnavailable, true},
      {"504", with_status(504), ErrorType::BackendUnavailable, true},
      {"505", with_status(505), ErrorType::ServerError, true},
      {"599", with_status(599), ErrorType::ServerError, true},
      {"600 is outside the failed ranges", with_status(600), ErrorType::None, false},
      {"reset, no response", without_response(Outcome::ConnectionReset), ErrorType::BackendUnavailable, true},
      {"closed, no response", without_response(Outcome::ConnectionClosed), ErrorType::BackendUnavailable, true},
      {"timeout", without_response(Outcome::Timeout), ErrorType::BackendUnavailable, true},
      {"capture ended", without_response(Outcome::CaptureEnded), ErrorType::BackendUnavailable, true},
      {"evicted", without_response(Outcome::Evicted), ErrorType::BackendUnavailable, true},
      {"parse error, no status", without_response(Outcome::ParseError), ErrorType::ParseError, true},
      {"complete without a response object", without_response(Outcome::Complete), ErrorType::None, false},
  };
  Exchange parse_error_with_status = with_status(400);
  parse_error_with_status.outcome = Outcome::ParseError;
  rows.push_back({"parse error with a 400 status: the status decides", parse_error_with_status,
                  ErrorType::ClientError, true});
  Exchange broken_200 = with_status(200);
  broken_200.outcome = Outcome::ParseError;
  broken_200.response->complete = false;
  rows.push_back({"200 whose headers broke: a parse error", broken_200, ErrorType::ParseError,
                  true});
  Exchange orphan = with_status(200);
  orphan.request.reset();
  orphan.outcome = Outcome::OrphanResponse;
  rows.push_back({"orphan 200", orphan, ErrorType::None, false});
  Exchange orphan_500 = with_status(500);
  orphan_500.request.reset();
  orphan_500.outcome = Outcome::OrphanResponse;
  rows.push_back({"orphan 500", orphan_500, ErrorType::ServerError, true});

  const ClassifyOptions defaults;
  for (const Row& r : rows) {
    SCOPED_TRACE(r.description);
    Classification c = classify(r.exchange, defaults);
    EXPECT_EQ(to_string(c.error_type), to_string(r.type));
    EXPECT_EQ(c.failed, r.failed);
  }
}

TEST(Classify, SlowLimit) {
  ClassifyOptions o;
  o.slow_ms = 100;
  Classification c = classify(with_status(200, 150'000), o);
  EXPECT_EQ(c.error_type, ErrorType::Slow);
  EXPECT_TRUE(c.failed);
  c = classify(with_status(200, 100'000), o);  // exactly at the limit: not slow
  EXPECT_EQ(c.error_type, ErrorType::None);
  EXPECT_FALSE(c.failed);
  c = classify(with_status(500, 150'000), o);  // a failed status keeps its own type
  EXPECT_EQ(c.error_type, ErrorType::ServerError);
  o.slow_ms = 0;
  EXPECT_FALSE(classify(with_status(200, 10'000'000), o).failed);
}

TEST(Classify, CustomStatusRangesAndOutcomes) {
  ClassifyOptions o;
  o.failed_status = {{500, 599}, {429, 429}};
  EXPECT_FALSE(classify(with_status(404), o).failed);
  EXPECT_EQ(classify(with_status(404), o).error_type, ErrorType::None);
  EXPECT_EQ(classify(with_status(429), o).error_type, ErrorType::ClientError);
  EXPECT_EQ(classify(with_status(503), o).error_type, ErrorType::BackendUnavailable);
  o.failed_outcomes = 1u << static_cast<unsigned>(Outcome::ConnectionReset);
  EXPECT_FALSE(classify(without_response(Outcome::Timeout), o).failed);
  EXPECT_EQ(classify(without_response(Outcome::Timeout), o).error_type, ErrorType::None);
  EXPECT_TRUE(classify(without_response(Outcome::ConnectionReset), o).failed);
}

TEST(Classify, Latency) {
  EXPECT_DOUBLE_EQ(latency_ms(with_status(200, 150'500)), 150.5);
  EXPECT_LT(latency_ms(without_response(Outcome::Timeout)), 0);
  Exchange headers_only = with_status(200, 0);
  headers_only.response->last_byte = Timestamp{0};
  headers_only.response->headers_end = Timestamp{1'020'000};
  EXPECT_DOUBLE_EQ(latency_ms(headers_only), 20.0);
}

TEST(Classify, Names) {
  EXPECT_EQ(to_string(ErrorType::None), "none");
  EXPECT_EQ(to_string(ErrorType::ClientError), "client_error");
  EXPECT_EQ(to_string(ErrorType::ServerError), "server_error");
  EXPECT_EQ(to_string(ErrorType::BackendUnavailable), "backend_unavailable");
  EXPECT_EQ(to_string(ErrorType::ParseError), "parse_error");
  EXPECT_EQ(to_string(ErrorType::Slow), "slow");
  EXPECT_EQ(to_string(Outcome::ConnectionReset), "connection_reset");
  EXPECT_EQ(to_string(Outcome::OrphanResponse), "orphan_response");
}

}  // namespace
}  // namespace offpath
