#include "filter/exchange_filter.hpp"

#include <fnmatch.h>

#include <algorithm>

#include "common/ascii.hpp"
#include "filter/status_set.hpp"

namespace offpath {
namespace {

// The path of a request target, as the record's request.path: query removed, and the
// scheme and authority of an absolute-form target removed.
std::string_view path_of(std::string_view uri) {
  std::string_view path = uri.substr(0, uri.find('?'));
  if (std::size_t scheme = path.find("://");
      scheme != std::string_view::npos && !path.empty() && path[0] != '/') {
    std::size_t slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  return path;
}

bool host_matches(const std::vector<HostPattern>& patterns, std::string_view host_header) {
  std::string host = lower_ascii(host_without_port(host_header));
  if (!host.empty() && host.back() == '.') host.pop_back();  // "example.com." is example.com
  for (const auto& p : patterns) {
    if (!p.wildcard) {
      if (host == p.name) return true;
    } else if (host.size() > p.name.size() + 1 && host.ends_with(p.name) &&
               host[host.size() - p.name.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

bool path_matches(const std::vector<PathPattern>& patterns, std::string_view path) {
  std::string p(path);
  for (const auto& pattern : patterns) {
    if (pattern.glob) {
      if (::fnmatch(pattern.text.c_str(), p.c_str(), 0) == 0) return true;
    } else if (p.starts_with(pattern.text)) {
      return true;
    }
  }
  return false;
}

bool has_header(const HttpMessage& m, const HeaderCondition& cond) {
  for (const auto& h : m.headers) {
    if (!iequals_ascii(h.name, cond.name)) continue;
    if (!cond.value || h.value == *cond.value) return true;
  }
  return false;
}

bool any_cidr(const std::vector<CidrRange>& ranges, const IpAddress& addr) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const CidrRange& r) { return r.contains(addr); });
}

}  // namespace

std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    return std::string(close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1));
  }
  std::size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    return std::string(host.substr(0, colon));
  }
  return std::string(host);  // no port, or a bare IPv6 address
}

bool ExchangeFilter::matches(const Exchange& ex, const Classification& /*c*/) const {
  if (!clients.empty() && !any_cidr(clients, ex.client.addr)) return false;
  if (!servers.empty() && !any_cidr(servers, ex.server.addr)) return false;
  const HttpMessage* req = ex.request ? &*ex.request : nullptr;
  const HttpMessage* resp = ex.response ? &*ex.response : nullptr;
  if (!methods.empty()) {
    if (req == nullptr) return false;
    if (std::none_of(methods.begin(), methods.end(),
                     [&](const std::string& m) { return iequals_ascii(m, req->method); })) {
      return false;
    }
  }
  if (!hosts.empty()) {
    const std::string* host = req != nullptr ? req->header("host") : nullptr;
    if (host == nullptr || !host_matches(hosts, *host)) return false;
  }
  if (!paths.empty() || !path_regexes.empty()) {
    if (req == nullptr) return false;
    std::string_view path = path_of(req->uri);
    if (!paths.empty() && !path_matches(paths, path)) return false;
    if (!path_regexes.empty()) {
      std::string p(path);
      if (std::none_of(path_regexes.begin(), path_regexes.end(),
                       [&](const std::regex& re) { return std::regex_search(p, re); })) {
        return false;
      }
    }
  }
  if (!statuses.empty()) {
    if (resp == nullptr || !status_in(statuses, resp->status)) return false;
  }
  if (min_latency_ms) {
    double ms = latency_ms(ex);
    if (ms < 0 || ms < *min_latency_ms) return false;
  }
  if (!headers.empty()) {
    if (std::none_of(headers.begin(), headers.end(), [&](const HeaderCondition& h) {
          return (req != nullptr && has_header(*req, h)) || (resp != nullptr && has_header(*resp, h));
        })) {
      return false;
    }
  }
  return true;
}

double sample_point(const Exchange& ex) {
  // The inputs of the record's "id" (connection id and index), mixed with splitmix64.
  std::uint64_t h = ex.connection_id ^ (0x9e3779b97f4a7c15ULL * (ex.index + 1ULL));
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // 53 bits -> [0, 1)
}

bool ExchangeFilter::sampled_in(const Exchange& ex) const {
  if (sample_rate >= 1.0) return true;
  return sample_point(ex) < sample_rate;
}

}  // namespace offpath
