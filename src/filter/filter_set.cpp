#include "filter/filter_set.hpp"

#include <charconv>
#include <cmath>
#include <iterator>

#include "filter/status_set.hpp"

namespace offpath {
namespace {

constexpr std::uint32_t bit(Outcome o) { return 1u << static_cast<unsigned>(o); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string outcome_names() {
  std::string names;
  for (unsigned i = 0; i < static_cast<unsigned>(Outcome::kCount); ++i) {
    if ((all_failure_outcomes() & (1u << i)) == 0) continue;
    if (!names.empty()) names += ", ";
    names += to_string(static_cast<Outcome>(i));
  }
  return names;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return out;
}

Error flag_error(std::string_view flag, const std::string& what) {
  return make_error(std::string(flag) + ": " + what);
}

// Splits a comma list; empty items are errors of the caller's flag.
std::vector<std::string_view> items(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t comma = text.find(',');
    out.push_back(trim(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<double> non_negative(std::string_view flag, const std::optional<double>& v) {
  if (!v || !std::isfinite(*v) || *v < 0) {
    return flag_error(flag, "expected a number of milliseconds >= 0");
  }
  return *v;
}

}  // namespace

std::uint32_t all_failure_outcomes() {
  std::uint32_t mask = 0;
  for (unsigned i = 0; i < static_cast<unsigned>(Outcome::kCount); ++i) {
    auto o = static_cast<Outcome>(i);
    if (o != Outcome::Complete && o != Outcome::OrphanResponse) mask |= 1u << i;
  }
  return mask;
}

Result<std::uint32_t> parse_outcome_list(std::string_view text) {
  std::uint32_t mask = 0;
  for (std::string_view name : items(text)) {
    bool found = false;
    for (unsigned i = 0; i < static_cast<unsigned>(Outcome::kCount); ++i) {
      if ((all_failure_outcomes() & (1u << i)) != 0 && to_string(static_cast<Outcome>(i)) == name) {
        mask |= 1u << i;
        found = true;
      }
    }
    if (!found) {
      return make_error("expected outcomes among " + outcome_names() + ", got '" +
                        std::string(name) + "'");
    }
  }
  return mask;
}

Result<std::uint32_t> parse_grpc_codes(std::string_view text) {
  static constexpr std::string_view kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  constexpr int kMax = static_cast<int>(std::size(kNames)) - 1;
  auto code = [&](std::string_view s) -> int {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) return v <= kMax ? v : -1;
    const std::string u = upper(s);
    for (int i = 0; i <= kMax; ++i) {
      if (kNames[i] == u) return i;
    }
    return -1;
  };
  std::uint32_t mask = 0;
  for (std::string_view item : items(text)) {
    const auto dash = item.find('-');
    const int lo = code(trim(item.substr(0, dash)));
    const int hi = dash == std::string_view::npos ? lo : code(trim(item.substr(dash + 1)));
    if (lo < 0 || hi < lo) {
      return make_error("expected gRPC status codes (0-16, a range 1-16, or names such as "
                        "UNAVAILABLE), got '" + std::string(item) + "'");
    }
    for (int i = lo; i <= hi; ++i) mask |= 1u << i;
  }
  return mask;
}

Result<FilterSet> build_filters(const Config& config) {
  const FilterOptions& o = config.filter;
  FilterSet set;
  ExchangeFilter& f = set.filter;

  for (const auto& value : o.methods) {
    for (std::string_view m : items(value)) {
      if (!is_token(m)) {
        return flag_error("--method", "expected HTTP method names (GET,POST), got '" + std::string(m) + "'");
      }
      f.methods.push_back(upper(m));
    }
  }
  for (const auto& value : o.hosts) {
    for (std::string_view h : items(value)) {
      HostPattern p;
      if (h.starts_with("*.")) {
        p.wildcard = true;
        h.remove_prefix(2);
      }
      if (h.empty() || h.find_first_of("*?/ ") != std::string_view::npos) {
        return flag_error("--host", "expected a host name (api.example.com) or a wildcard "
                                    "(*.example.com), got '" + std::string(value) + "'");
      }
      p.name = lower(h);
      f.hosts.push_back(std::move(p));
    }
  }
  for (const auto& value : o.paths) {
    if (value.empty() || value.front() != '/') {
      return flag_error("--path", "expected a path starting with '/' (a prefix, or a glob with "
                                  "* ? [ ]), got '" + value + "'");
    }
    PathPattern p{value, value.find_first_of("*?[") != std::string::npos};
    if (p.glob && value.find('[') != std::string::npos && value.find(']') == std::string::npos) {
      return flag_error("--path", "unterminated '[' in glob '" + value + "'");
    }
    f.paths.push_back(std::move(p));
  }
  for (const auto& value : o.path_regexes) {
    try {
      f.path_regexes.emplace_back(value, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return flag_error("--path-regex", "expected an ECMAScript regular expression, got '" + value +
                                            "' (" + e.what() + ")");
    }
  }
  if (auto s = parse_status_sets(o.statuses); s) {
    f.statuses = *s;
  } else {
    return flag_error("--status", s.error().message);
  }
  if (auto c = parse_cidr_ranges(o.client_cidrs); c) {
    f.clients = *c;
  } else {
    return flag_error("--client", c.error().message);
  }
  if (auto c = parse_cidr_ranges(o.server_cidrs); c) {
    f.servers = *c;
  } else {
    return flag_error("--server", c.error().message);
  }
  if (o.min_latency_ms) {
    auto ms = non_negative("--min-latency", o.min_latency_ms);
    if (!ms) return ms.error();
    f.min_latency_ms = *ms;
  }
  for (const auto& value : o.headers) {
    HeaderCondition h;
    std::size_t eq = value.find('=');
    std::string_view name = trim(std::string_view(value).substr(0, eq));
    if (!is_token(name)) {
      return flag_error("--header", "expected NAME or NAME=VALUE with a header name (X-Request-Id), "
                                    "got '" + value + "'");
    }
    h.name = lower(name);
    if (eq != std::string::npos) h.value = std::string(trim(std::string_view(value).substr(eq + 1)));
    f.headers.push_back(std::move(h));
  }
  if (o.sample) {
    if (!std::isfinite(*o.sample) || *o.sample < 0 || *o.sample > 1) {
      return flag_error("--sample", "expected a rate between 0 and 1 (0.1 keeps 10% of successes)");
    }
    f.sample_rate = *o.sample;
  }

  ClassifyOptions& c = set.classify;
  if (!o.failed_status.empty()) {
    auto s = parse_status_sets(o.failed_status);
    if (!s) return flag_error("--failed-status", s.error().message);
    c.failed_status = *s;
  }
  if (o.slow_ms) {
    auto ms = non_negative("--slow", o.slow_ms);
    if (!ms) return ms.error();
    c.slow_ms = *ms;
  }
  c.failed_outcomes = all_failure_outcomes();
  if (!o.failed_outcomes.empty()) {
    c.failed_outcomes = 0;
    for (const auto& value : o.failed_outcomes) {
      if (trim(value) == "none") continue;
      auto mask = parse_outcome_list(value);
      if (!mask) return flag_error("--failed-outcomes", mask.error().message + " (or none)");
      c.failed_outcomes |= *mask;
    }
  }
  if (!o.grpc_failed_codes.empty()) {
    c.grpc_failed_codes = 0;
    for (const auto& value : o.grpc_failed_codes) {
      if (trim(value) == "none") continue;
      auto mask = parse_grpc_codes(value);
      if (!mask) return flag_error("--grpc-failed-codes", mask.error().message + " (or none)");
      c.grpc_failed_codes |= *mask;
    }
  }
  set.connect_failures = o.connect_failures;
  return set;
}

}  // namespace offpath
