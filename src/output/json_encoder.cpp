#include "output/json_encoder.hpp"

#include "output/base64.hpp"
#include "output/json_writer.hpp"

namespace offpath {
namespace {

void write_endpoint(JsonWriter& w, std::string_view name, const Endpoint& e) {
  w.key(name);
  w.begin_object();
  w.field("ip", e.addr.to_string());
  w.field("port", static_cast<int>(e.port));
  w.end_object();
}

void write_string_or_null(JsonWriter& w, std::string_view key, std::string_view v) {
  w.key(key);
  if (v.empty()) w.null(); else w.string(v);
}

}  // namespace

JsonEncoder::JsonEncoder(const RecordOptions& options) : fields_(options) {}

void JsonEncoder::encode(const Exchange& ex, const Classification& c, std::string& out) {
  const RecordOptions& opt = fields_.options();
  JsonWriter w(out);
  bool decode_error = false;

  auto write_headers = [&](const HttpMessage& m) {
    fields_.headers(m, headers_);
    w.key("headers");
    w.begin_object();
    for (const auto& [name, value] : headers_) w.field(name, value);
    w.end_object();
  };
  auto write_body = [&](const HttpMessage& m, bool keep) {
    w.field("body_size", m.body_size);
    if (m.body_missing > 0) w.field("body_missing", m.body_missing);
    RecordBody b = fields_.body(m);
    if (!b.content_encoding.empty()) w.field("content_encoding", b.content_encoding);
    if (b.decode == DecodeStatus::Corrupt) decode_error = true;
    if (!keep) return;
    w.key("body");
    if (w.text(b.bytes)) {
      w.field("body_encoding", "utf8");
    } else {
      scratch_.clear();
      base64_encode(b.bytes, scratch_);
      w.string(scratch_);
      w.field("body_encoding", "base64");
    }
    w.field("body_truncated", b.truncated);
    if (!b.content_encoding.empty()) {
      w.field("body_decoded", b.decoded);
      if (b.decoded) w.field("body_encoded_size", b.encoded_size);
    }
  };
  const bool bodies = opt.max_body > 0;

  w.begin_object();
  w.field("schema", kSchemaVersion);
  w.field("id", exchange_id_hex(ex).view());
  w.field("outcome", to_string(ex.outcome));
  w.key("error_type");
  if (c.error_type == ErrorType::None) w.null(); else w.string(to_string(c.error_type));
  w.field("failed", c.failed);
  write_endpoint(w, "client", ex.client);
  write_endpoint(w, "server", ex.server);
  write_string_or_null(w, "correlation_id", correlation_id(ex, opt.redact_headers));
  write_string_or_null(w, "forwarded_for", forwarded_for(ex));

  w.key("request");
  if (ex.request) {
    const HttpMessage& r = *ex.request;
    std::string_view path, query;
    split_target(r.uri, path, query);
    w.begin_object();
    w.field("method", r.method);
    w.field("uri", r.uri);
    w.field("path", path);
    w.field("query", query);
    w.field("version", r.version());
    w.key("host");
    if (const auto* h = r.header("host")) w.string(*h); else w.null();
    w.key("user_agent");
    if (const auto* h = r.header("user-agent")) w.string(*h); else w.null();
    write_headers(r);
    write_body(r, opt.request_body && bodies);
    w.end_object();
  } else {
    w.null();
  }

  w.key("response");
  if (ex.response) {
    const HttpMessage& r = *ex.response;
    w.begin_object();
    w.key("status");
    if (r.status > 0) w.number(r.status); else w.null();
    w.field("reason", r.reason);
    w.field("version", r.version());
    write_headers(r);
    write_body(r, opt.response_body && bodies);
    w.end_object();
  } else {
    w.null();
  }

  w.key("interim_statuses");
  w.begin_array();
  for (int s : ex.interim_statuses) w.number(s);
  w.end_array();

  // Packet times: first and last byte of each message (the last only once the parser saw
  // the message end).
  w.key("timing");
  w.begin_object();
  if (ex.request) {
    write_packet_time(w, scratch_, "request_start", "request_start_iso", ex.request->first_byte);
    if (ex.request->complete) {
      write_packet_time(w, scratch_, "request_end", "request_end_iso", ex.request->last_byte);
    }
  }
  if (ex.response) {
    write_packet_time(w, scratch_, "response_start", "response_start_iso",
               ex.response->first_byte);
    if (ex.response->complete) {
      write_packet_time(w, scratch_, "response_end", "response_end_iso", ex.response->last_byte);
    }
  }
  double lat = latency_ms(ex);
  w.key("latency_ms");
  if (lat >= 0 && ex.response && ex.response->complete) w.fixed(lat, 3); else w.null();
  w.key("ttfb_ms");
  if (ex.request && ex.response) {
    w.fixed(millis_between(ex.request->first_byte, ex.response->first_byte), 3);
  } else {
    w.null();
  }
  w.end_object();

  w.key("connection");
  w.begin_object();
  w.field("id", Hex16(ex.connection_id).view());
  w.field("index", ex.index);
  w.end_object();

  // Where it was captured (Kubernetes: OFFPATH_NODE_NAME / OFFPATH_POD_NAME); only when set.
  if (!opt.node_name.empty() || !opt.pod_name.empty()) {
    w.key("capture");
    w.begin_object();
    w.field("node", std::string_view(opt.node_name));
    w.field("pod", std::string_view(opt.pod_name));
    w.end_object();
  }

  // gRPC over HTTP/2: the call and its status (grpc-status -1: no trailers came).
  if (ex.grpc) {
    w.key("grpc");
    w.begin_object();
    w.key("status");
    if (ex.grpc->status >= 0) w.number(ex.grpc->status); else w.null();
    w.field("message", std::string_view(ex.grpc->message));
    w.field("service", std::string_view(ex.grpc->service));
    w.field("method", std::string_view(ex.grpc->method));
    w.end_object();
  }

  w.key("anomalies");
  w.begin_array();
  for (std::uint32_t bit = 0; bit < anomaly::kCount; ++bit) {
    if ((ex.anomalies & (1u << bit)) != 0) w.string(anomaly::name(bit));
  }
  if (decode_error) w.string("decode_error");
  w.end_array();
  if (!ex.error_detail.empty()) w.field("error_detail", ex.error_detail);
  if (ex.degraded != 0) w.field("degraded", static_cast<std::uint32_t>(ex.degraded));
  w.end_object();
}

}  // namespace offpath
