// build_filters: the FilterOptions of the command line, parsed and checked once at
// start-up into what the pipeline uses: the classification options and the exchange
// filter. An error names the flag and says what was expected (the caller exits 2).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.hpp"
#include "config/config.hpp"
#include "exchange/classify.hpp"
#include "filter/exchange_filter.hpp"

namespace offpath {

struct FilterSet {
  ClassifyOptions classify;
  ExchangeFilter filter;
  bool connect_failures = false;
};

// Outcomes without a response that --failed-outcomes may name, as a bit mask indexed by
// Outcome: every outcome except complete and orphan_response.
std::uint32_t all_failure_outcomes();

// Parses a --failed-outcomes value (comma list of outcome names) into a mask.
Result<std::uint32_t> parse_outcome_list(std::string_view text);
// Parses a --grpc-failed-codes value (comma list of gRPC status codes: numbers 0-16,
// ranges "1-16", or names "UNAVAILABLE", any case) into a mask (bit per code).
Result<std::uint32_t> parse_grpc_codes(std::string_view text);

Result<FilterSet> build_filters(const Config& config);

}  // namespace offpath
