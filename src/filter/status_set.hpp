// Status sets: the "404", "500-599", "5xx" lists of --status and --failed-status, parsed
// once at start-up into inclusive ranges. Pure values; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "exchange/classify.hpp"

namespace offpath {

// Parses one item or a comma list of items: a code (100-999), a range "lo-hi" with
// lo <= hi, or a class "Nxx" (N from 1 to 9). Whitespace around items is ignored.
// The error says what was expected and quotes the offending item.
Result<std::vector<StatusRange>> parse_status_set(std::string_view text);

// Parses every value of a repeatable flag into one list.
Result<std::vector<StatusRange>> parse_status_sets(const std::vector<std::string>& values);

bool status_in(const std::vector<StatusRange>& set, int status);

}  // namespace offpath
