#include "output/record_encoder.hpp"

#include <algorithm>
#include <cctype>

#include "common/ascii.hpp"
#include "output/json_encoder.hpp"
#include "output/kong_encoder.hpp"
#include "output/openresty_encoder.hpp"

namespace offpath {
namespace {

bool contains(const std::vector<std::string>& names, std::string_view lower_name) {
  return std::find(names.begin(), names.end(), lower_name) != names.end();
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// W3C Trace Context: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>"; the
// trace-id, or empty if the value is not of that form (or the id is all zeros).
std::string_view trace_id(std::string_view tp) {
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return {};
  std::string_view id = tp.substr(3, 32);
  if (!is_hex(tp.substr(0, 2)) || !is_hex(id) || !is_hex(tp.substr(36, 16))) return {};
  if (id.find_first_not_of('0') == std::string_view::npos) return {};
  return id;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Hex16::Hex16(std::uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    digits[i] = kHex[v & 0xF];
    v >>= 4;
  }
}

Hex16 exchange_id_hex(const Exchange& ex) {
  std::uint64_t h = ex.connection_id ^ (0x9e3779b97f4a7c15ULL * (ex.index + 1ULL));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  return Hex16(h);
}

std::string exchange_id(const Exchange& ex) { return std::string(exchange_id_hex(ex).view()); }

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

std::string_view correlation_id(const Exchange& ex, const std::vector<std::string>& redacted) {
  for (const auto* m : {ex.request ? &*ex.request : nullptr,
                        ex.response ? &*ex.response : nullptr}) {
    if (m == nullptr) continue;
    for (std::string_view name : kCorrelationHeaders) {
      if (contains(redacted, name)) continue;
      const std::string* v = m->header(name);
      if (v == nullptr) continue;
      std::string_view id = name == "traceparent" ? trace_id(trim(*v)) : trim(*v);
      if (!id.empty()) return id;
    }
  }
  return {};
}

std::string_view forwarded_for(const Exchange& ex) {
  if (!ex.request) return {};
  for (std::string_view name : {"x-forwarded-for", "x-real-ip"}) {
    if (const std::string* v = ex.request->header(name); v != nullptr && !trim(*v).empty()) {
      return trim(*v);
    }
  }
  return {};
}

RecordFields::RecordFields(const RecordOptions& options) : options_(options) {
  for (auto& h : options_.redact_headers) h = lower_ascii(h);
  for (auto& h : options_.header_names) h = lower_ascii(trim(h));
}

bool RecordFields::redacted(std::string_view lower_name) const {
  return contains(options_.redact_headers, lower_name);
}

bool RecordFields::captured(std::string_view lower_name) const {
  switch (options_.headers) {
    case HeaderCapture::All: return true;
    case HeaderCapture::None: return false;
    case HeaderCapture::List: return contains(options_.header_names, lower_name);
  }
  return true;
}

void RecordFields::headers(const HttpMessage& m, HeaderList& out) const {
  out.clear();
  if (options_.headers == HeaderCapture::None) return;
  for (const auto& h : m.headers) {
    auto& item = out.push();
    item.first.resize(h.name.size());
    std::transform(h.name.begin(), h.name.end(), item.first.begin(), to_lower_ascii);
    const std::string& name = item.first;
    if (!captured(name)) {
      out.pop();
      continue;
    }
    if (HeaderList::Item* earlier = out.find_before_last(name)) {
      if (!redacted(name)) {
        earlier->second += ", ";
        earlier->second += h.value;
      }
      out.pop();
      continue;
    }
    if (redacted(name)) {
      item.second.assign(kRedacted);
    } else {
      item.second.assign(h.value);
    }
  }
}

RecordBody RecordFields::body(const HttpMessage& m) {
  RecordBody b;
  b.bytes = m.body;
  b.truncated = m.body_truncated;
  if (const std::string* ce = m.header("content-encoding"); ce != nullptr) {
    std::string_view v = trim(*ce);
    if (!v.empty() && lower_ascii(v) != "identity") b.content_encoding = v;
  }
  // Not with a gap in the body (the captured bytes have a hole: nothing to decode).
  if (b.content_encoding.empty() || !options_.decode_content || m.body.empty() ||
      m.body_missing > 0) {
    return b;
  }
  b.decode = decoder_.decode(b.content_encoding, m.body, options_.max_body);
  if (b.decode == DecodeStatus::Complete || b.decode == DecodeStatus::Partial) {
    b.bytes = decoder_.output();
    b.decoded = true;
    b.encoded_size = m.body.size();
    b.truncated = b.decode == DecodeStatus::Partial || m.body_truncated;
  }
  return b;
}

std::unique_ptr<RecordEncoder> make_record_encoder(const RecordOptions& options) {
  switch (options.format) {
    case OutputFormat::Native: return std::make_unique<JsonEncoder>(options);
    case OutputFormat::OpenResty: return std::make_unique<OpenRestyEncoder>(options);
    case OutputFormat::Kong: return std::make_unique<KongEncoder>(options);
  }
  return std::make_unique<JsonEncoder>(options);
}

}  // namespace offpath
