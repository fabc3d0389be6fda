#include "output/json_encoder.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <vector>

#include "output/base64.hpp"
#include "output/json_writer.hpp"

namespace offpath {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

void write_endpoint(JsonWriter& w, std::string_view name, const Endpoint& e) {
  w.key(name);
  w.begin_object();
  w.field("ip", e.addr.to_string());
  w.field("port", static_cast<int>(e.port));
  w.end_object();
}

void write_time(JsonWriter& w, std::string_view name, Timestamp ts, bool with_iso) {
  std::string s;
  append_epoch_seconds(s, ts);
  w.key(name);
  w.raw(s);
  if (with_iso) {
    s.clear();
    append_iso8601(s, ts);
    std::string iso_key(name);
    iso_key += "_iso";
    w.field(iso_key, s);
  }
}

}  // namespace

std::string exchange_id(const Exchange& ex) {
  std::uint64_t h = ex.connection_id ^ (0x9e3779b97f4a7c15ULL * (ex.index + 1ULL));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void split_target(std::string_view uri, std::string_view& path, std::string_view& query) {
  std::size_t q = uri.find('?');
  if (q == std::string_view::npos) {
    path = uri;
    query = {};
  } else {
    path = uri.substr(0, q);
    query = uri.substr(q + 1);
  }
  // Absolute form (proxies): keep only the path part of "http://host/path".
  if (std::size_t scheme = path.find("://"); scheme != std::string_view::npos && path[0] != '/') {
    std::size_t slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
}

JsonEncoder::JsonEncoder(const RecordOptions& options) : options_(options) {
  for (auto& h : options_.redact_headers) h = lower(h);
}

bool JsonEncoder::redacted(std::string_view lower_name) const {
  return std::find(options_.redact_headers.begin(), options_.redact_headers.end(),
                   lower_name) != options_.redact_headers.end();
}

namespace {

void write_headers(JsonWriter& w, const HttpMessage& m,
                   const std::function<bool(std::string_view)>& is_redacted) {
  // Lower-case names; repeats joined with ", " in order of appearance.
  std::vector<std::pair<std::string, std::string>> merged;
  merged.reserve(m.headers.size());
  for (const auto& h : m.headers) {
    std::string name = lower(h.name);
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it == merged.end()) {
      merged.emplace_back(std::move(name), h.value);
    } else {
      it->second += ", ";
      it->second += h.value;
    }
  }
  w.key("headers");
  w.begin_object();
  for (const auto& [name, value] : merged) {
    w.field(name, is_redacted(name) ? std::string(kRedacted) : value);
  }
  w.end_object();
}

void write_body(JsonWriter& w, const HttpMessage& m, bool keep) {
  w.field("body_size", m.body_size);
  if (m.body_missing > 0) w.field("body_missing", m.body_missing);
  if (!keep) return;
  w.key("body");
  if (JsonWriter::is_text(m.body)) {
    w.string(m.body);
    w.field("body_encoding", "utf8");
  } else {
    std::string b64;
    base64_encode(m.body, b64);
    w.string(b64);
    w.field("body_encoding", "base64");
  }
  w.field("body_truncated", m.body_truncated);
}

}  // namespace

void JsonEncoder::encode(const Exchange& ex, const Classification& c, std::string& out) const {
  JsonWriter w(out);
  auto is_redacted = [this](std::string_view n) { return redacted(n); };
  w.begin_object();
  w.field("schema", kSchemaVersion);
  w.field("id", exchange_id(ex));
  w.field("outcome", to_string(ex.outcome));
  w.key("error_type");
  if (c.error_type == ErrorType::None) w.null(); else w.string(to_string(c.error_type));
  w.field("failed", c.failed);
  write_endpoint(w, "client", ex.client);
  write_endpoint(w, "server", ex.server);

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
    write_headers(w, r, is_redacted);
    write_body(w, r, options_.request_body && options_.max_body > 0);
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
    write_headers(w, r, is_redacted);
    write_body(w, r, options_.response_body && options_.max_body > 0);
    w.end_object();
  } else {
    w.null();
  }

  w.key("interim_statuses");
  w.begin_array();
  for (int s : ex.interim_statuses) w.number(s);
  w.end_array();

  w.key("timing");
  w.begin_object();
  if (ex.request) {
    write_time(w, "request_start", ex.request->first_byte, true);
    if (ex.request->complete) write_time(w, "request_end", ex.request->last_byte, false);
  }
  if (ex.response) {
    write_time(w, "response_start", ex.response->first_byte, false);
    if (ex.response->complete) write_time(w, "response_end", ex.response->last_byte, true);
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
  char cid[17];
  std::snprintf(cid, sizeof cid, "%016llx", static_cast<unsigned long long>(ex.connection_id));
  w.field("id", std::string_view(cid));
  w.field("index", ex.index);
  w.end_object();

  w.key("anomalies");
  w.begin_array();
  for (std::uint32_t bit = 0; bit < anomaly::kCount; ++bit) {
    if ((ex.anomalies & (1u << bit)) != 0) w.string(anomaly::name(bit));
  }
  w.end_array();
  if (!ex.error_detail.empty()) w.field("error_detail", ex.error_detail);
  w.end_object();
}

}  // namespace offpath
