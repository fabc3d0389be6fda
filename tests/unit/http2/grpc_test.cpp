#include "http2/grpc.hpp"

#include <gtest/gtest.h>

#include "exchange/classify.hpp"

namespace offpath {
namespace {

TEST(Http2Grpc, ContentTypeAndPath) {
  EXPECT_TRUE(http2::is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(http2::is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(http2::is_grpc_content_type("Application/GRPC;charset=x"));
  EXPECT_FALSE(http2::is_grpc_content_type("application/grpc-web-text"));
  EXPECT_FALSE(http2::is_grpc_content_type("application/json"));
  std::string s, m;
  EXPECT_TRUE(http2::split_grpc_path("/pkg.Svc/Do", s, m));
  EXPECT_EQ(s, "pkg.Svc");
  EXPECT_EQ(m, "Do");
  EXPECT_FALSE(http2::split_grpc_path("/a/b/c", s, m));
  EXPECT_FALSE(http2::split_grpc_path("/nomethod", s, m));
  EXPECT_EQ(http2::percent_decode("a%20b%zz%4"), "a b%zz%4");
}

Exchange grpc_exchange(int grpc_status) {
  Exchange ex;
  ex.request.emplace();
  ex.response.emplace();
  ex.response->status = 200;
  ex.response->complete = true;
  ex.grpc = GrpcInfo{grpc_status, "", "s", "m"};
  return ex;
}

TEST(Http2Grpc, ClassifiedByGrpcStatusBehindA200) {
  ClassifyOptions o;
  EXPECT_FALSE(classify(grpc_exchange(0), o).failed);
  auto c = classify(grpc_exchange(14), o);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.error_type, ErrorType::BackendUnavailable);
  EXPECT_EQ(classify(grpc_exchange(4), o).error_type, ErrorType::BackendUnavailable);
  EXPECT_EQ(classify(grpc_exchange(5), o).error_type, ErrorType::ClientError);
  EXPECT_EQ(classify(grpc_exchange(13), o).error_type, ErrorType::ServerError);
  // Without trailers the call's result is unknown.
  EXPECT_TRUE(classify(grpc_exchange(-1), o).failed);
  // Only the configured codes fail.
  o.grpc_failed_codes = 1u << 14;
  EXPECT_FALSE(classify(grpc_exchange(5), o).failed);
  EXPECT_TRUE(classify(grpc_exchange(14), o).failed);
}

}  // namespace
}  // namespace offpath
