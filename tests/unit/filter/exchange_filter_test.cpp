#include "filter/exchange_filter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "filter/filter_set.hpp"

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

Endpoint ep(const char* addr, std::uint16_t port) {
  Endpoint e;
  if (inet_pton(AF_INET, addr, e.addr.bytes.data()) == 1) {
    e.addr.version = 4;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, addr, e.addr.bytes.data()), 1);
    e.addr.version = 6;
  }
  e.port = port;
  return e;
}

// GET /api/v1/items?x=1 Host: api.example.com:8080, answered 503 after 250 ms.
Exchange sample_exchange() {
  Exchange ex;
  ex.client = ep("10.231.0.1", 41000);
  ex.server = ep("10.231.0.2", 8080);
  ex.connection_id = 0x1234;
  HttpMessage req;
  req.method = "GET";
  req.uri = "/api/v1/items?x=1";
  req.headers = {{"Host", "api.example.com:8080"}, {"X-Request-Id", "abc"}, {"Accept", "a"},
                 {"Accept", "b"}};
  req.first_byte = Timestamp{1'000'000};
  req.last_byte = Timestamp{1'000'100};
  HttpMessage resp;
  resp.kind = MessageKind::Response;
  resp.status = 503;
  resp.headers = {{"Content-Type", "text/html"}};
  resp.first_byte = Timestamp{1'200'000};
  resp.last_byte = Timestamp{1'250'000};
  ex.request = req;
  ex.response = resp;
  return ex;
}

ExchangeFilter build(FilterOptions o) {
  Config c;
  c.filter = std::move(o);
  auto set = build_filters(c);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return set.ok() ? set->filter : ExchangeFilter{};
}

bool passes(FilterOptions o, const Exchange& ex = sample_exchange()) {
  return build(std::move(o)).matches(ex, Classification{});
}

TEST(ExchangeFilter, NoFlagsPassEverything) {
  EXPECT_TRUE(passes({}));
  Exchange bare;
  EXPECT_TRUE(passes({}, bare));
}

TEST(ExchangeFilter, Method) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.methods = {"GET"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.methods = {"post,get"}; })));  // comma list, any case
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.methods = {"POST", "GET"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.methods = {"POST"}; })));
  Exchange no_request = sample_exchange();
  no_request.request.reset();
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.methods = {"GET"}; }), no_request));
}

TEST(ExchangeFilter, Host) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.hosts = {"api.example.com"}; })));  // port ignored
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.hosts = {"API.Example.COM"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.hosts = {"*.example.com"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.hosts = {"*.api.example.com"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.hosts = {"example.com"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.hosts = {"*.ample.com"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.hosts = {"other.org,api.example.com"}; })));
  Exchange bare_domain = sample_exchange();
  bare_domain.request->headers[0].value = "example.com";
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.hosts = {"*.example.com"}; }), bare_domain));
  Exchange v6 = sample_exchange();
  v6.request->headers[0].value = "[fd00:231::2]:8080";
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.hosts = {"fd00:231::2"}; }), v6));
  Exchange no_host = sample_exchange();
  no_host.request->headers.erase(no_host.request->headers.begin());
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.hosts = {"api.example.com"}; }), no_host));
}

TEST(ExchangeFilter, HostWithoutPort) {
  EXPECT_EQ(host_without_port("a.b:80"), "a.b");
  EXPECT_EQ(host_without_port("a.b"), "a.b");
  EXPECT_EQ(host_without_port("[::1]:80"), "::1");
  EXPECT_EQ(host_without_port("[::1]"), "::1");
  EXPECT_EQ(host_without_port("fd00::1"), "fd00::1");
}

TEST(ExchangeFilter, PathPrefixAndGlob) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/api/"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.paths = {"/static"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.paths = {"/api/v1/items?x"}; })));  // the query is not part of the path
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/api/*"}; })));             // '*' crosses '/'
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/api/v?/items"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/api/v[0-9]/*"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.paths = {"/api/v[2-9]/*"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.paths = {"/api/*/item"}; })));       // a glob must match the whole path
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/static", "/api"}; })));
  Exchange absolute = sample_exchange();
  absolute.request->uri = "http://api.example.com/api/v1/items";
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.paths = {"/api/v1"}; }), absolute));
}

TEST(ExchangeFilter, PathRegex) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.path_regexes = {"items$"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.path_regexes = {"^/api/v[0-9]+/"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.path_regexes = {"^/items"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.path_regexes = {"x=1"}; })));  // the query is not part of the path
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.path_regexes = {"^/nope", "v1"}; })));
  // --path and --path-regex are different flags: both must match.
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.paths = {"/api"}; o.path_regexes = {"nope"}; })));
}

TEST(ExchangeFilter, Status) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.statuses = {"503"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.statuses = {"5xx"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.statuses = {"500-503"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.statuses = {"504-599"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.statuses = {"4xx"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.statuses = {"4xx", "503"}; })));
  Exchange no_response = sample_exchange();
  no_response.response.reset();
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.statuses = {"5xx"}; }), no_response));
}

TEST(ExchangeFilter, ClientAndServer) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.client_cidrs = {"10.231.0.0/24"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.client_cidrs = {"10.231.0.2"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.server_cidrs = {"10.231.0.2"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.server_cidrs = {"10.231.0.1"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.server_cidrs = {"fd00::/8"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.server_cidrs = {"fd00::/8,10.0.0.0/8"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.client_cidrs = {"10.0.0.0/8"}; o.server_cidrs = {"192.0.2.0/24"}; })));
}

TEST(ExchangeFilter, MinLatency) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.min_latency_ms = 250.0; })));  // at least
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.min_latency_ms = 0.0; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.min_latency_ms = 250.001; })));
  Exchange no_response = sample_exchange();
  no_response.response.reset();
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.min_latency_ms = 0.0; }), no_response));
}

TEST(ExchangeFilter, Header) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.headers = {"x-request-id"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.headers = {"X-REQUEST-ID=abc"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.headers = {"X-Request-Id=ABC"}; })));  // values are exact
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.headers = {"content-type=text/html"}; })));  // response headers too
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.headers = {"Accept=b"}; })));  // any instance of a repeated header
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.headers = {"Authorization"}; })));
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.headers = {"Authorization", "Accept"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.headers = {"X-Empty="}; })));
}

TEST(ExchangeFilter, FlagsCombineWithAnd) {
  EXPECT_TRUE(passes(with([](FilterOptions& o) { o.methods = {"GET"}; o.hosts = {"*.example.com"}; o.paths = {"/api/*"}; o.statuses = {"5xx"}; o.client_cidrs = {"10.0.0.0/8"}; })));
  EXPECT_FALSE(passes(with([](FilterOptions& o) { o.methods = {"GET"}; o.hosts = {"*.example.com"}; o.paths = {"/api/*"}; o.statuses = {"4xx"}; o.client_cidrs = {"10.0.0.0/8"}; })));
}

TEST(ExchangeFilter, SampleIsDeterministicAndProportional) {
  ExchangeFilter f = build(with([](FilterOptions& o) { o.sample = 0.25; }));
  int kept = 0;
  for (std::uint32_t i = 0; i < 4000; ++i) {
    Exchange ex;
    ex.connection_id = 0xabcdef00ULL + i / 4;
    ex.index = i % 4;
    const bool in = f.sampled_in(ex);
    EXPECT_EQ(in, f.sampled_in(ex));
    EXPECT_EQ(in, sample_point(ex) < 0.25);
    kept += in ? 1 : 0;
  }
  EXPECT_GT(kept, 850);
  EXPECT_LT(kept, 1150);
  Exchange ex = sample_exchange();
  EXPECT_TRUE(build(with([](FilterOptions& o) { o.sample = 1.0; })).sampled_in(ex));
  EXPECT_FALSE(build(with([](FilterOptions& o) { o.sample = 0.0; })).sampled_in(ex));
}

}  // namespace
}  // namespace offpath
