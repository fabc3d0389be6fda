// ExchangeFilter: the exchange-level narrowing of --method, --host, --path, --path-regex,
// --status, --client, --server, --min-latency and --header, plus --sample. Built once at
// start-up (filter_set.hpp), then read-only: each worker's ExchangeOutput holds a copy
// and asks it about every classified exchange.
//
// Semantics: flags combine with AND; the values of one flag (repeated, or a comma list)
// combine with OR. A flag about the request (method, host, path, header of a request)
// does not match an exchange without a request; --status and --min-latency do not match
// an exchange without a response. An exchange passes when no flag is given.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "exchange/classify.hpp"
#include "exchange/exchange.hpp"
#include "filter/cidr.hpp"

namespace offpath {

struct HostPattern {
  std::string name;       // lower case, without the "*." of a wildcard
  bool wildcard = false;  // "*.example.com": any name ending in ".example.com"
};

struct PathPattern {
  std::string text;
  bool glob = false;  // contains * ? or [ : fnmatch(3) on the whole path, '*' crosses '/'
};

struct HeaderCondition {
  std::string name;                  // lower case
  std::optional<std::string> value;  // exact value of one instance of the header
};

struct ExchangeFilter {
  std::vector<std::string> methods;  // upper case
  std::vector<HostPattern> hosts;
  std::vector<PathPattern> paths;
  std::vector<std::regex> path_regexes;
  std::vector<StatusRange> statuses;
  std::vector<CidrRange> clients;
  std::vector<CidrRange> servers;
  std::optional<double> min_latency_ms;
  std::vector<HeaderCondition> headers;
  double sample_rate = 1.0;          // fraction of successful exchanges kept (--publish all)

  // True when the exchange passes every given flag.
  bool matches(const Exchange& ex, const Classification& c) const;
  // True when --sample keeps this exchange. Depends only on the exchange's connection id
  // and index (what its "id" field is made of), so a replay keeps the same exchanges.
  bool sampled_in(const Exchange& ex) const;
};

// The uniform value in [0, 1) that sampled_in() compares with the rate.
double sample_point(const Exchange& ex);

// Host header without its port ("example.com:8080" -> "example.com", "[::1]:80" -> "::1").
std::string host_without_port(std::string_view host);

}  // namespace offpath
