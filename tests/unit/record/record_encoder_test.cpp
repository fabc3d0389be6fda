// The three record formats on hand-built exchanges: exact JSON for the fields issue 4
// adds (correlation, forwarded-for, header capture, decoded bodies, decode errors) and
// the seed-compatible openresty and kong shapes.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "output/json_encoder.hpp"
#include "output/kong_encoder.hpp"
#include "output/openresty_encoder.hpp"
#include "output/record_encoder.hpp"

namespace offpath {
namespace {

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Exchange make_exchange() {
  Exchange ex;
  const std::uint8_t c[4] = {10, 0, 0, 1};
  const std::uint8_t s[4] = {10, 0, 0, 2};
  ex.client = {IpAddress::v4(c), 40000};
  ex.server = {IpAddress::v4(s), 8080};
  ex.connection_id = 0x1234;
  HttpMessage req;
  req.kind = MessageKind::Request;
  req.method = "POST";
  req.uri = "/api/items?page=2";
  req.headers = {{"Host", "shop.example:8080"}, {"User-Agent", "t/1"},
                 {"Authorization", "Bearer secret"}, {"X-Forwarded-For", "192.0.2.7, 10.1.1.1"},
                 {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                 {"Referer", "http://shop.example/"}};
  req.body = "a=1";
  req.body_size = 3;
  req.first_byte = Timestamp{1700000000000000};
  req.last_byte = Timestamp{1700000000000100};
  req.complete = true;
  HttpMessage resp;
  resp.kind = MessageKind::Response;
  resp.status = 503;
  resp.reason = "Service Unavailable";
  resp.headers = {{"Content-Encoding", "gzip"}, {"X-Request-ID", "resp-id"}};
  resp.body = gzip("down for maintenance\n");
  resp.body_size = resp.body.size();
  resp.first_byte = Timestamp{1700000000002000};
  resp.last_byte = Timestamp{1700000000002500};
  resp.complete = true;
  ex.request = req;
  ex.response = resp;
  return ex;
}

const Classification kFailed{ErrorType::BackendUnavailable, true};

std::string encode(RecordEncoder& e, const Exchange& ex) {
  std::string out;
  e.encode(ex, kFailed, out);
  return out;
}

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(NativeRecord, CorrelationForwardedAndDecodedBody) {
  RecordOptions o;
  JsonEncoder e(o);
  std::string j = encode(e, make_exchange());
  // traceparent loses to X-Request-ID only in the same message; the request comes first.
  EXPECT_TRUE(has(j, R"("correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736")")) << j;
  EXPECT_TRUE(has(j, R"("forwarded_for":"192.0.2.7, 10.1.1.1")")) << j;
  EXPECT_TRUE(has(j, R"("authorization":"[REDACTED]")")) << j;
  Exchange ex = make_exchange();
  std::string enc_size = std::to_string(ex.response->body.size());
  EXPECT_TRUE(has(j, R"("body_size":)" + enc_size + R"(,"content_encoding":"gzip","body":)"
                     R"("down for maintenance\n","body_encoding":"utf8","body_truncated":false,)"
                     R"("body_decoded":true,"body_encoded_size":)" + enc_size + "}"))
      << j;
  EXPECT_TRUE(has(j, R"("anomalies":[])")) << j;
  EXPECT_TRUE(has(j, R"("latency_ms":2.500,"ttfb_ms":2.000)")) << j;
}

TEST(NativeRecord, CorrelationOrderAndRedaction) {
  Exchange ex = make_exchange();
  ex.request->headers.push_back({"X-Correlation-ID", "corr-7"});
  EXPECT_EQ(correlation_id(ex), "corr-7");  // X-Correlation-ID before traceparent
  ex.request->headers.push_back({"x-request-id", " req-9 "});
  EXPECT_EQ(correlation_id(ex), "req-9");
  // A redacted header is not lifted either (in the request nor the response).
  EXPECT_EQ(correlation_id(ex, {"x-request-id"}), "corr-7");
  EXPECT_EQ(correlation_id(ex, {"x-request-id", "x-correlation-id", "traceparent"}), "");
  ex.request->headers = {{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}};
  EXPECT_EQ(correlation_id(ex), "resp-id");  // an all-zero trace-id is invalid
  ex.response->headers.clear();
  EXPECT_EQ(correlation_id(ex), "");
  ex.request->headers = {{"X-Real-IP", "198.51.100.4"}};
  EXPECT_EQ(forwarded_for(ex), "198.51.100.4");
}

TEST(NativeRecord, HeaderCaptureAndNoDecode) {
  RecordOptions o;
  o.headers = HeaderCapture::List;
  o.header_names = {"HOST", "content-encoding"};
  o.decode_content = false;
  JsonEncoder e(o);
  std::string j = encode(e, make_exchange());
  EXPECT_TRUE(has(j, R"("headers":{"host":"shop.example:8080"})")) << j;
  EXPECT_TRUE(has(j, R"("headers":{"content-encoding":"gzip"})")) << j;
  EXPECT_TRUE(has(j, R"("body_encoding":"base64","body_truncated":false,"body_decoded":false})"))
      << j;
  o.headers = HeaderCapture::None;
  JsonEncoder none(o);
  j = encode(none, make_exchange());
  EXPECT_TRUE(has(j, R"("headers":{},"body_size":3)")) << j;
  // Correlation still comes from all headers.
  EXPECT_TRUE(has(j, R"("correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736")")) << j;
}

TEST(NativeRecord, CorruptGzipIsAnAnomaly) {
  Exchange ex = make_exchange();
  ex.response->body = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage", 25);
  ex.response->body_size = ex.response->body.size();
  RecordOptions o;
  JsonEncoder e(o);
  std::string j = encode(e, ex);
  EXPECT_TRUE(has(j, R"("body_decoded":false})")) << j;
  EXPECT_TRUE(has(j, R"("anomalies":["decode_error"])")) << j;
}

TEST(OpenRestyRecord, FlatFields) {
  RecordOptions o;
  o.format = OutputFormat::OpenResty;
  auto e = make_record_encoder(o);
  EXPECT_EQ(e->schema(), "openresty");
  EXPECT_EQ(encode(*e, make_exchange()),
            R"({"timestamp":1700000000.000000,"iso_timestamp":"2023-11-14T22:13:20.000000Z",)"
            R"("error_type":"backend_unavailable","client_ip":"10.0.0.1",)"
            R"("request_method":"POST","request_uri":"/api/items?page=2",)"
            R"("request_path":"/api/items","query_string":"page=2","request_body":"a=1",)"
            R"("user_agent":"t/1","referer":"http://shop.example/",)"
            R"("upstream_addr":"10.0.0.2:8080","server_name":"shop.example",)"
            R"("log_type":"failed_request","request_headers":{"host":"shop.example:8080",)"
            R"("user-agent":"t/1","authorization":"[REDACTED]",)"
            R"("x-forwarded-for":"192.0.2.7, 10.1.1.1",)"
            R"("traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",)"
            R"("referer":"http://shop.example/"},"status":503})");
}

TEST(KongRecord, RequestResponseEntry) {
  RecordOptions o;
  o.format = OutputFormat::Kong;
  o.headers = HeaderCapture::List;
  o.header_names = {"host", "x-request-id"};
  auto e = make_record_encoder(o);
  EXPECT_EQ(e->schema(), "kong");
  Exchange ex = make_exchange();
  EXPECT_EQ(encode(*e, ex),
            R"({"id":")" + exchange_id(ex) +
                R"(","type":"request-response","timestamp":1700000000000,)"
                R"("request":{"url":"http://shop.example:8080/api/items?page=2","method":"POST",)"
                R"("headers":{"host":"shop.example:8080"},"body":"a=1"},)"
                R"("response":{"status_code":503,"headers":{"x-request-id":"resp-id"},)"
                R"("body":"down for maintenance\n"}})");
  ex.response.reset();
  EXPECT_TRUE(has(encode(*e, ex), R"("response":null})"));
}

// A gRPC call over HTTP/2 through a gateway that failed behind an HTTP 200 (NOT_FOUND in
// the trailers), joined to its one upstream attempt.
Exchange make_grpc_exchange() {
  Exchange ex = make_exchange();
  for (HttpMessage* m : {&*ex.request, &*ex.response}) {
    m->version_major = 2;
    m->version_minor = 0;
  }
  ex.request->uri = "/shop.Catalog/GetItem";
  ex.request->headers = {{"host", "gw.example:8080"}, {"content-type", "application/grpc"}};
  ex.response->status = 200;
  ex.response->reason.clear();
  ex.response->headers = {{"content-type", "application/grpc"}, {"grpc-status", "5"}};
  ex.grpc = GrpcInfo{5, "no such item", "shop.Catalog", "GetItem"};
  GatewayView view;
  view.leg = Leg::Client;
  UpstreamTry t;
  const std::uint8_t b[4] = {10, 0, 1, 2};
  t.addr = {IpAddress::v4(b), 50051};
  t.status = 200;
  t.uri = "/shop.Catalog/GetItem";
  view.tries.push_back(t);
  view.failure_origin = FailureOrigin::Upstream;
  ex.gateway = view;
  return ex;
}

TEST(OpenRestyRecord, Http2GrpcFailureBehind200) {
  RecordOptions o;
  o.format = OutputFormat::OpenResty;
  auto e = make_record_encoder(o);
  Exchange ex = make_grpc_exchange();
  const std::string j = encode(*e, ex);
  // The joined backend, the HTTP status the client saw, and why it failed.
  EXPECT_TRUE(has(j, R"("upstream_addr":"10.0.1.2:50051")")) << j;
  EXPECT_TRUE(has(j, R"("log_type":"failed_request")")) << j;
  EXPECT_TRUE(has(j, R"("status":200,"server_protocol":"HTTP/2.0",)"
                     R"("grpc_status":5,"grpc_message":"no such item"})")) << j;
  // Trailers that never came: grpc_status null.
  ex.grpc->status = -1;
  ex.grpc->message.clear();
  EXPECT_TRUE(has(encode(*e, ex), R"("grpc_status":null,"grpc_message":""})"));
  // HTTP/2 without gRPC: the protocol, no grpc fields; HTTP/1.1 keeps the logger's shape.
  ex.grpc.reset();
  EXPECT_TRUE(has(encode(*e, ex), R"("status":200,"server_protocol":"HTTP/2.0"})"));
  EXPECT_TRUE(has(encode(*e, make_exchange()), R"("status":503})"));
}

TEST(KongRecord, GrpcServiceProtocol) {
  RecordOptions o;
  o.format = OutputFormat::Kong;
  auto e = make_record_encoder(o);
  Exchange ex = make_grpc_exchange();
  std::string j = encode(*e, ex);
  EXPECT_TRUE(has(j, R"("url":"http://gw.example:8080/shop.Catalog/GetItem")")) << j;
  EXPECT_TRUE(has(j, R"("upstream_uri":"/shop.Catalog/GetItem",)"
                     R"("upstream_url":"grpc://10.0.1.2:50051/shop.Catalog/GetItem",)"
                     R"("service":{"host":"10.0.1.2","port":50051,"protocol":"grpc"}})")) << j;
  // Plain HTTP/2 through the same gateway: an http service.
  ex.grpc.reset();
  j = encode(*e, ex);
  EXPECT_TRUE(has(j, R"("upstream_url":"http://10.0.1.2:50051/shop.Catalog/GetItem")")) << j;
  EXPECT_TRUE(has(j, R"("protocol":"http"})")) << j;
}

}  // namespace
}  // namespace offpath
