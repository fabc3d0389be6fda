#include "output/kong_encoder.hpp"

#include "output/base64.hpp"
#include "output/json_writer.hpp"

namespace offpath {

void KongEncoder::encode(const Exchange& ex, const Classification& c, std::string& out) {
  (void)c;
  const RecordOptions& opt = fields_.options();
  JsonWriter w(out);
  auto write_headers = [&](const HttpMessage& m) {
    fields_.headers(m, headers_);
    w.key("headers");
    w.begin_object();
    for (const auto& [name, value] : headers_) w.field(name, value);
    w.end_object();
  };
  auto write_body = [&](const HttpMessage& m, bool keep) {
    w.key("body");
    if (!keep) {
      w.string("");
      return;
    }
    RecordBody b = fields_.body(m);
    if (!w.text(b.bytes)) {
      scratch_.clear();
      base64_encode(b.bytes, scratch_);
      w.string(scratch_);
    }
  };

  w.begin_object();
  w.field("id", exchange_id_hex(ex).view());
  w.field("type", "request-response");
  // Milliseconds since the epoch, as Kong's started_at.
  w.field("timestamp", static_cast<std::int64_t>(ex.start().micros / 1000));
  w.key("request");
  if (ex.request) {
    const HttpMessage& r = *ex.request;
    scratch_.clear();
    if (r.uri.empty() || r.uri.front() == '/') {
      const std::string* host = r.header("host");
      scratch_ = "http://";
      scratch_ += host != nullptr ? *host : ex.server.to_string();
    }
    scratch_ += r.uri;
    w.begin_object();
    w.field("url", scratch_);
    w.field("method", r.method);
    write_headers(r);
    write_body(r, opt.request_body && opt.max_body > 0);
    w.end_object();
  } else {
    w.null();
  }
  w.key("response");
  if (ex.response) {
    const HttpMessage& r = *ex.response;
    w.begin_object();
    w.key("status_code");
    if (r.status > 0) w.number(r.status); else w.null();
    write_headers(r);
    write_body(r, opt.response_body && opt.max_body > 0);
    w.end_object();
  } else {
    w.null();
  }
  // Joined (gateway view): what the last attempt requested from which backend, as Kong's
  // upstream_uri (the target) and service, and the two together as upstream_url; an
  // attempt that never connected sent no target. A gRPC call went to a gRPC service:
  // Kong's protocol "grpc", and its upstream URL's scheme.
  if (ex.gateway && !ex.gateway->tries.empty()) {
    const UpstreamTry& last = ex.gateway->tries.back();
    const std::string_view protocol = ex.grpc ? "grpc" : "http";
    if (!last.uri.empty()) {
      w.field("upstream_uri", last.uri);
      scratch_ = protocol;
      scratch_ += "://";
      scratch_ += last.addr.to_string();
      scratch_ += last.uri;
      w.field("upstream_url", scratch_);
    }
    w.key("service");
    w.begin_object();
    scratch_ = last.addr.addr.to_string();
    w.field("host", scratch_);
    w.field("port", static_cast<int>(last.addr.port));
    w.field("protocol", protocol);
    w.end_object();
  }
  w.end_object();
}

}  // namespace offpath
