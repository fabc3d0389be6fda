// KongEncoder (--format kong): the entry of Kong's request-response logger plugin, so
// that its consumers read offpath's records unchanged: id, type, timestamp,
// request{url, method, headers, body}, response{status_code, headers, body}. An exchange
// without a response has "response": null. A joined client leg (gateway view) adds
// upstream_uri, upstream_url and service (protocol "grpc" for a gRPC call). See
// docs/record-format.md.
// Each worker owns one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "output/record_encoder.hpp"

namespace offpath {

class KongEncoder final : public RecordEncoder {
 public:
  explicit KongEncoder(const RecordOptions& options) : fields_(options) {}
  void encode(const Exchange& ex, const Classification& c, std::string& out) override;
  std::string_view schema() const override { return "kong"; }

 private:
  RecordFields fields_;
  HeaderList headers_;
  std::string scratch_;
};

}  // namespace offpath
