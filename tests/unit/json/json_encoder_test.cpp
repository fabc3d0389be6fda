// JsonEncoder: the native record of an exchange, read back with the strict reader and
// checked field by field: header names lower-cased, repeats joined, redaction, bodies as
// UTF-8 or base64, split_target.
#include "output/json_encoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/json.hpp"

namespace offpath {
namespace {

using testing::JsonValue;
using testing::count;
using testing::flag;
using testing::is_null;
using testing::parse_json;

Exchange sample() {
  Exchange e;
  const std::uint8_t c[4] = {10, 0, 0, 1};
  const std::uint8_t s[4] = {10, 0, 0, 2};
  e.client = {IpAddress::v4(c), 40000};
  e.server = {IpAddress::v4(s), 8080};
  e.connection_id = 0xabc;
  e.index = 2;
  HttpMessage req;
  req.method = "POST";
  req.uri = "/api/v1/items?limit=5&q=a%20b";
  req.headers = {{"Host", "example.com"},
                 {"User-Agent", "curl/8"},
                 {"Authorization", "Bearer secret-token"},
                 {"Cookie", "a=1"},
                 {"X-Multi", "one"},
                 {"x-multi", "two"},
                 {"Accept", "*/*"}};
  req.body = "{\"k\":\"v\"}";
  req.body_size = req.body.size();
  req.first_byte = Timestamp::from_seconds(1700000000, 0);
  req.last_byte = Timestamp::from_seconds(1700000000, 1000);
  req.complete = true;
  e.request = req;
  HttpMessage resp;
  resp.kind = MessageKind::Response;
  resp.status = 503;
  resp.reason = "Service \"Unavailable\"";
  resp.headers = {{"Set-Cookie", "s=1"}, {"Set-Cookie", "t=2"}, {"Content-Type", "image/png"}};
  resp.body = std::string("\x89PNG\r\n\x1a\n\x00", 9);
  resp.body_size = 2000;
  resp.body_truncated = true;
  resp.first_byte = Timestamp::from_seconds(1700000000, 250000);
  resp.last_byte = Timestamp::from_seconds(1700000000, 500000);
  resp.complete = true;
  e.response = resp;
  e.interim_statuses = {100};
  e.anomalies = anomaly::kGap | anomaly::kMidStream;
  return e;
}

JsonValue encode(const Exchange& e, const RecordOptions& o = {}) {
  JsonEncoder enc(o);
  std::string out;
  enc.encode(e, classify(e, ClassifyOptions{}), out);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  std::string err;
  auto v = parse_json(out, &err);
  EXPECT_TRUE(v) << err << "\n" << out;
  return v ? *v : JsonValue{};
}

std::string text(const JsonValue& v, std::string_view path) {
  const JsonValue* f = v.path(path);
  if (f == nullptr) return "<missing " + std::string(path) + ">";
  return f->text;
}

TEST(JsonEncoder, NativeRecordFields) {
  JsonValue v = encode(sample());
  EXPECT_EQ(text(v, "schema"), "offpath/1");
  EXPECT_EQ(text(v, "outcome"), "complete");
  EXPECT_EQ(text(v, "error_type"), "backend_unavailable");
  EXPECT_TRUE(flag(v, "failed"));
  EXPECT_EQ(text(v, "client.ip"), "10.0.0.1");
  EXPECT_EQ(text(v, "client.port"), "40000");
  EXPECT_EQ(text(v, "server.port"), "8080");
  EXPECT_EQ(text(v, "request.method"), "POST");
  EXPECT_EQ(text(v, "request.uri"), "/api/v1/items?limit=5&q=a%20b");
  EXPECT_EQ(text(v, "request.path"), "/api/v1/items");
  EXPECT_EQ(text(v, "request.query"), "limit=5&q=a%20b");
  EXPECT_EQ(text(v, "request.host"), "example.com");
  EXPECT_EQ(text(v, "request.user_agent"), "curl/8");
  EXPECT_EQ(text(v, "request.version"), "1.1");
  EXPECT_EQ(text(v, "request.body"), "{\"k\":\"v\"}");
  EXPECT_EQ(text(v, "request.body_encoding"), "utf8");
  EXPECT_EQ(text(v, "response.status"), "503");
  EXPECT_EQ(text(v, "response.reason"), "Service \"Unavailable\"");
  EXPECT_EQ(text(v, "response.body_size"), "2000");
  EXPECT_TRUE(flag(v, "response.body_truncated"));
  EXPECT_EQ(text(v, "interim_statuses.0"), "100");
  EXPECT_EQ(text(v, "timing.latency_ms"), "500.000");
  EXPECT_EQ(text(v, "timing.ttfb_ms"), "250.000");
  EXPECT_EQ(text(v, "timing.request_start"), "1700000000.000000");
  EXPECT_EQ(text(v, "timing.request_start_iso"), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(text(v, "connection.id"), "0000000000000abc");
  EXPECT_EQ(text(v, "connection.index"), "2");
  EXPECT_EQ(text(v, "anomalies.0"), "gap");
  EXPECT_EQ(text(v, "anomalies.1"), "mid_stream");
  EXPECT_EQ(v.path("anomalies.2"), nullptr);
  EXPECT_EQ(text(v, "id"), exchange_id(sample()));
  EXPECT_EQ(text(v, "id").size(), 16u);
}

TEST(JsonEncoder, HeadersLowerCasedJoinedAndRedacted) {
  JsonValue v = encode(sample());
  const JsonValue* h = v.path("request.headers");
  ASSERT_NE(h, nullptr);
  std::vector<std::string> names;
  for (const auto& [k, val] : h->members) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"host", "user-agent", "authorization", "cookie",
                                             "x-multi", "accept"}));
  EXPECT_EQ(text(v, "request.headers.authorization"), "[REDACTED]");
  EXPECT_EQ(text(v, "request.headers.cookie"), "[REDACTED]");
  EXPECT_EQ(text(v, "request.headers.x-multi"), "one, two");
  EXPECT_EQ(text(v, "response.headers.set-cookie"), "[REDACTED]");
  EXPECT_EQ(text(v, "response.headers.content-type"), "image/png");
  std::string raw;
  JsonEncoder(RecordOptions{}).encode(sample(), Classification{}, raw);
  EXPECT_EQ(raw.find("secret-token"), std::string::npos);
  EXPECT_EQ(raw.find("s=1"), std::string::npos);
}

TEST(JsonEncoder, ConfiguredRedactionIsCaseInsensitive) {
  RecordOptions o;
  o.redact_headers = {"X-MULTI"};
  JsonValue v = encode(sample(), o);
  EXPECT_EQ(text(v, "request.headers.x-multi"), "[REDACTED]");
  EXPECT_EQ(text(v, "request.headers.authorization"), "Bearer secret-token");
}

TEST(JsonEncoder, BinaryBodyIsBase64) {
  JsonValue v = encode(sample());
  EXPECT_EQ(text(v, "response.body_encoding"), "base64");
  EXPECT_EQ(text(v, "response.body"), "iVBORw0KGgoA");
}

TEST(JsonEncoder, BodyOptions) {
  RecordOptions o;
  o.request_body = false;
  JsonValue v = encode(sample(), o);
  EXPECT_EQ(v.path("request.body"), nullptr);
  EXPECT_EQ(text(v, "request.body_size"), "9");
  EXPECT_NE(v.path("response.body"), nullptr);
  o.max_body = 0;
  o.request_body = true;
  v = encode(sample(), o);
  EXPECT_EQ(v.path("request.body"), nullptr);
  EXPECT_EQ(v.path("response.body"), nullptr);
}

TEST(JsonEncoder, NoResponse) {
  Exchange e = sample();
  e.response.reset();
  e.interim_statuses.clear();
  e.outcome = Outcome::ConnectionReset;
  JsonValue v = encode(e);
  EXPECT_TRUE(is_null(v, "response"));
  EXPECT_EQ(text(v, "outcome"), "connection_reset");
  EXPECT_EQ(text(v, "error_type"), "backend_unavailable");
  EXPECT_TRUE(is_null(v, "timing.latency_ms"));
  EXPECT_TRUE(is_null(v, "timing.ttfb_ms"));
  EXPECT_EQ(count(v, "interim_statuses"), 0u);
}

TEST(JsonEncoder, OrphanHasNullRequestAndNoErrorType) {
  Exchange e = sample();
  e.request.reset();
  e.response->status = 200;
  e.outcome = Outcome::OrphanResponse;
  JsonValue v = encode(e);
  EXPECT_TRUE(is_null(v, "request"));
  EXPECT_TRUE(is_null(v, "error_type"));
  EXPECT_FALSE(flag(v, "failed"));
}

TEST(JsonEncoder, HostileBytesEverywhereStillValidJson) {
  Exchange e = sample();
  std::string hostile;
  for (int i = 0; i < 256; ++i) hostile.push_back(static_cast<char>(i));
  e.request->method = hostile;
  e.request->uri = "/" + hostile + "?" + hostile;
  e.request->headers.push_back({hostile, hostile});
  e.request->body = hostile;
  e.response->reason = hostile;
  e.error_detail = hostile;
  JsonValue v = encode(e);
  EXPECT_EQ(text(v, "request.body_encoding"), "base64");
  std::string b64 = text(v, "request.body");
  EXPECT_EQ(b64.size(), 344u);
  EXPECT_EQ(text(v, "request.method").size(), 0x20u - 0x00u + 0x60u + 128u * 3u);
}

struct TargetCase {
  const char* uri;
  const char* path;
  const char* query;
};

TEST(SplitTarget, Forms) {
  const TargetCase cases[] = {
      {"/a/b?x=1", "/a/b", "x=1"},
      {"/a/b", "/a/b", ""},
      {"/?", "/", ""},
      {"/p?a=1?b=2", "/p", "a=1?b=2"},
      {"*", "*", ""},
      {"http://host:8080/x/y?z", "/x/y", "z"},
      {"http://host", "/", ""},
      {"example.com:443", "example.com:443", ""},
      {"", "", ""},
  };
  for (const TargetCase& c : cases) {
    SCOPED_TRACE(c.uri);
    std::string_view path, query;
    split_target(c.uri, path, query);
    EXPECT_EQ(path, c.path);
    EXPECT_EQ(query, c.query);
  }
}

}  // namespace
}  // namespace offpath
