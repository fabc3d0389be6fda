#include "output/openresty_encoder.hpp"

#include "output/base64.hpp"
#include "output/json_writer.hpp"

namespace offpath {

void OpenRestyEncoder::encode(const Exchange& ex, const Classification& c, std::string& out) {
  const RecordOptions& opt = fields_.options();
  const HttpMessage* req = ex.request ? &*ex.request : nullptr;
  JsonWriter w(out);
  w.begin_object();
  scratch_.clear();
  append_epoch_seconds(scratch_, ex.start());
  w.key("timestamp");
  w.raw(scratch_);
  scratch_.clear();
  append_iso8601(scratch_, ex.start());
  w.field("iso_timestamp", scratch_);
  w.key("error_type");
  if (c.error_type == ErrorType::None) w.null(); else w.string(to_string(c.error_type));
  w.field("client_ip", ex.client.addr.to_string());

  std::string_view path, query;
  if (req != nullptr) split_target(req->uri, path, query);
  auto header_or_empty = [req](std::string_view name) -> std::string_view {
    const std::string* v = req != nullptr ? req->header(name) : nullptr;
    return v != nullptr ? std::string_view(*v) : std::string_view();
  };
  w.field("request_method", req != nullptr ? std::string_view(req->method) : std::string_view());
  w.field("request_uri", req != nullptr ? std::string_view(req->uri) : std::string_view());
  w.field("request_path", path);
  w.field("query_string", query);
  w.key("request_body");
  if (req != nullptr && opt.request_body && opt.max_body > 0) {
    RecordBody b = fields_.body(*req);
    if (!w.text(b.bytes)) {
      scratch_.clear();
      base64_encode(b.bytes, scratch_);
      w.string(scratch_);
    }
  } else {
    w.string("");
  }
  w.field("user_agent", header_or_empty("user-agent"));
  w.field("referer", header_or_empty("referer"));
  // Joined (gateway view): the backends tried, as nginx's $upstream_addr lists them.
  if (ex.gateway && !ex.gateway->tries.empty()) {
    scratch_.clear();
    for (const UpstreamTry& t : ex.gateway->tries) {
      if (!scratch_.empty()) scratch_ += ", ";
      scratch_ += t.addr.to_string();
    }
    w.field("upstream_addr", scratch_);
  } else {
    w.field("upstream_addr", ex.server.to_string());
  }
  // nginx's $server_name is the matched server block; the Host without its port is the
  // closest a passive observer gets.
  std::string_view host = header_or_empty("host");
  if (!host.empty() && host.front() != '[') host = host.substr(0, host.find(':'));
  else if (!host.empty()) host = host.substr(0, host.find(']') + 1);
  w.field("server_name", host);
  w.field("log_type", c.failed ? "failed_request" : "request");
  w.key("request_headers");
  w.begin_object();
  if (req != nullptr) {
    fields_.headers(*req, headers_);
    for (const auto& [name, value] : headers_) w.field(name, value);
  }
  w.end_object();
  w.key("status");
  if (ex.response && ex.response->status > 0) w.number(ex.response->status); else w.null();
  // HTTP/1.x records keep the logger's shape; an HTTP/2 one says so, and a gRPC one
  // carries the status that made it fail behind an HTTP 200.
  const HttpMessage* first = req != nullptr ? req : (ex.response ? &*ex.response : nullptr);
  if (first != nullptr && first->version_major == 2) w.field("server_protocol", "HTTP/2.0");
  if (ex.grpc) {
    w.key("grpc_status");
    if (ex.grpc->status >= 0) w.number(ex.grpc->status); else w.null();
    w.field("grpc_message", std::string_view(ex.grpc->message));
  }
  w.end_object();
}

}  // namespace offpath
