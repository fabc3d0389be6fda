#include "filter/filter_set.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

// FilterOptions with some fields set (designated initializers would leave the rest
// to -Wmissing-field-initializers).
template <typename F>
FilterOptions with(F set) {
  FilterOptions o;
  set(o);
  return o;
}

Result<FilterSet> build(FilterOptions o) {
  Config c;
  c.filter = std::move(o);
  return build_filters(c);
}

std::string error_of(FilterOptions o) {
  auto set = build(std::move(o));
  return set.ok() ? std::string("(accepted)") : set.error().message;
}

constexpr std::uint32_t bit(Outcome o) { return 1u << static_cast<unsigned>(o); }

TEST(FilterSet, BadValuesNameTheFlag) {
  struct Case {
    const char* description;
    FilterOptions options;
    std::string message;
  };
  const Case cases[] = {
      {"method with a space", with([](FilterOptions& o) { o.methods = {"GE T"}; }),
       "--method: expected HTTP method names (GET,POST), got 'GE T'"},
      {"empty method in a list", with([](FilterOptions& o) { o.methods = {"GET,"}; }),
       "--method: expected HTTP method names (GET,POST), got ''"},
      {"host with a path", with([](FilterOptions& o) { o.hosts = {"example.com/x"}; }),
       "--host: expected a host name (api.example.com) or a wildcard (*.example.com), got "
       "'example.com/x'"},
      {"host wildcard in the middle", with([](FilterOptions& o) { o.hosts = {"a.*.com"}; }),
       "--host: expected a host name (api.example.com) or a wildcard (*.example.com), got "
       "'a.*.com'"},
      {"path without slash", with([](FilterOptions& o) { o.paths = {"api"}; }),
       "--path: expected a path starting with '/' (a prefix, or a glob with * ? [ ]), got 'api'"},
      {"unterminated bracket", with([](FilterOptions& o) { o.paths = {"/a[b"}; }), "--path: unterminated '[' in glob '/a[b'"},
      {"status word", with([](FilterOptions& o) { o.statuses = {"server"}; }),
       "--status: expected a status code (404), a range (500-599) or a class (5xx), got "
       "'server'"},
      {"client not an address", with([](FilterOptions& o) { o.client_cidrs = {"10.0.0.300"}; }),
       "--client: expected an IPv4 or IPv6 address or network (10.0.0.0/8, fd00::/16), got "
       "'10.0.0.300'"},
      {"server prefix too long", with([](FilterOptions& o) { o.server_cidrs = {"10.0.0.0/40"}; }),
       "--server: prefix length of '10.0.0.0/40' must be 0-32"},
      {"negative latency", with([](FilterOptions& o) { o.min_latency_ms = -1.0; }),
       "--min-latency: expected a number of milliseconds >= 0"},
      {"header without name", with([](FilterOptions& o) { o.headers = {"=x"}; }),
       "--header: expected NAME or NAME=VALUE with a header name (X-Request-Id), got '=x'"},
      {"header name with space", with([](FilterOptions& o) { o.headers = {"X Y"}; }),
       "--header: expected NAME or NAME=VALUE with a header name (X-Request-Id), got 'X Y'"},
      {"sample above one", with([](FilterOptions& o) { o.sample = 1.5; }),
       "--sample: expected a rate between 0 and 1 (0.1 keeps 10% of successes)"},
      {"sample negative", with([](FilterOptions& o) { o.sample = -0.1; }),
       "--sample: expected a rate between 0 and 1 (0.1 keeps 10% of successes)"},
      {"failed status range", with([](FilterOptions& o) { o.failed_status = {"500-4xx"}; }),
       "--failed-status: expected a status code (404), a range (500-599) or a class (5xx), got "
       "'500-4xx'"},
      {"slow negative", with([](FilterOptions& o) { o.slow_ms = -5.0; }), "--slow: expected a number of milliseconds >= 0"},
      {"unknown outcome", with([](FilterOptions& o) { o.failed_outcomes = {"timeout,complete"}; }),
       "--failed-outcomes: expected outcomes among connection_reset, connection_closed, "
       "capture_ended, timeout, evicted, parse_error, connection_refused, connect_timeout, "
       "stream_reset, goaway, got "
       "'complete' (or none)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_of(c.options), c.message) << c.description;
  }
}

TEST(FilterSet, BadRegexNamesTheFlag) {
  std::string message = error_of(with([](FilterOptions& o) { o.path_regexes = {"(unclosed"}; }));
  EXPECT_EQ(message.rfind("--path-regex: expected an ECMAScript regular expression, got "
                          "'(unclosed' (",
                          0),
            0u)
      << message;
}

TEST(FilterSet, ClassificationDefaults) {
  auto set = build({});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->classify.failed_status.size(), 1u);
  EXPECT_EQ(set->classify.failed_status[0].lo, 400);
  EXPECT_EQ(set->classify.failed_status[0].hi, 599);
  EXPECT_EQ(set->classify.slow_ms, 0);
  EXPECT_EQ(set->classify.failed_outcomes,
            bit(Outcome::ConnectionReset) | bit(Outcome::ConnectionClosed) |
                bit(Outcome::CaptureEnded) | bit(Outcome::Timeout) | bit(Outcome::Evicted) |
                bit(Outcome::ParseError) | bit(Outcome::ConnectionRefused) |
                bit(Outcome::ConnectTimeout) | bit(Outcome::StreamReset) | bit(Outcome::GoAway));
  EXPECT_FALSE(set->connect_failures);
  EXPECT_EQ(set->filter.sample_rate, 1.0);
}

TEST(FilterSet, ClassificationFlags) {
  auto set = build(with([](FilterOptions& o) { o.failed_status = {"5xx", "429"}; o.slow_ms = 100.0; o.failed_outcomes = {"connection_reset,timeout", "capture_ended"}; o.connect_failures = true; }));
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_EQ(set->classify.failed_status.size(), 2u);
  EXPECT_EQ(set->classify.failed_status[1].lo, 429);
  EXPECT_EQ(set->classify.slow_ms, 100.0);
  EXPECT_EQ(set->classify.failed_outcomes, bit(Outcome::ConnectionReset) |
                                               bit(Outcome::Timeout) |
                                               bit(Outcome::CaptureEnded));
  EXPECT_TRUE(set->connect_failures);
  auto none = build(with([](FilterOptions& o) { o.failed_outcomes = {"none"}; }));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->classify.failed_outcomes, 0u);
}

TEST(FilterSet, GrpcFailedCodes) {
  auto defaults = build({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->classify.grpc_failed_codes, 0x1fffeu);  // all but OK
  auto set = build(with([](FilterOptions& o) { o.grpc_failed_codes = {"unavailable,4", "12-13"}; }));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->classify.grpc_failed_codes, (1u << 14) | (1u << 4) | (1u << 12) | (1u << 13));
  auto none = build(with([](FilterOptions& o) { o.grpc_failed_codes = {"none"}; }));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->classify.grpc_failed_codes, 0u);
  auto bad = build(with([](FilterOptions& o) { o.grpc_failed_codes = {"17"}; }));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "--grpc-failed-codes: expected gRPC status codes (0-16, a range 1-16, or names such "
            "as UNAVAILABLE), got '17' (or none)");
}

TEST(FilterSet, ClassifyUsesTheParsedOptions) {
  auto set = build(with([](FilterOptions& o) { o.failed_status = {"503"}; o.slow_ms = 10.0; o.failed_outcomes = {"timeout"}; }));
  ASSERT_TRUE(set.ok());
  Exchange ex;
  ex.request = HttpMessage{};
  ex.request->first_byte = Timestamp{0};
  ex.response = HttpMessage{};
  ex.response->status = 500;
  ex.response->last_byte = Timestamp{5'000};
  Classification c = classify(ex, set->classify);
  EXPECT_FALSE(c.failed);  // 500 is not in --failed-status 503, and 5 ms is not slow
  ex.response->last_byte = Timestamp{20'000};
  c = classify(ex, set->classify);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.error_type, ErrorType::Slow);
  ex.response.reset();
  ex.outcome = Outcome::ConnectionReset;
  EXPECT_FALSE(classify(ex, set->classify).failed);
  ex.outcome = Outcome::Timeout;
  c = classify(ex, set->classify);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.error_type, ErrorType::BackendUnavailable);
}

}  // namespace
}  // namespace offpath
