// OpenRestyEncoder (--format openresty): the flat record of the OpenResty failed-request
// logger, so that its consumers read offpath's records unchanged: timestamp,
// iso_timestamp, error_type, client_ip, request_method, request_uri, request_path,
// query_string, request_body, user_agent, referer, upstream_addr, server_name, log_type,
// request_headers; plus status (the final status, or null), and for HTTP/2 exchanges
// server_protocol ("HTTP/2.0", nginx's $server_protocol) and for gRPC ones grpc_status
// and grpc_message (a failure behind an HTTP 200). See docs/record-format.md.
// Each worker owns one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "output/record_encoder.hpp"

namespace offpath {

class OpenRestyEncoder final : public RecordEncoder {
 public:
  explicit OpenRestyEncoder(const RecordOptions& options) : fields_(options) {}
  void encode(const Exchange& ex, const Classification& c, std::string& out) override;
  std::string_view schema() const override { return "openresty"; }

 private:
  RecordFields fields_;
  HeaderList headers_;
  std::string scratch_;
};

}  // namespace offpath
