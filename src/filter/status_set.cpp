#include "filter/status_set.hpp"

#include <charconv>

namespace offpath {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_code(std::string_view s, int& out) {
  if (s.size() != 3) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 100 && out <= 999;
}

Result<StatusRange> parse_item(std::string_view item) {
  const std::string expected = "expected a status code (404), a range (500-599) or a class (5xx), got '" +
                               std::string(item) + "'";
  if (item.size() == 3 && (item[1] == 'x' || item[1] == 'X') && (item[2] == 'x' || item[2] == 'X') &&
      item[0] >= '1' && item[0] <= '9') {
    int base = (item[0] - '0') * 100;
    return StatusRange{base, base + 99};
  }
  if (std::size_t dash = item.find('-'); dash != std::string_view::npos) {
    int lo = 0, hi = 0;
    if (!parse_code(trim(item.substr(0, dash)), lo) || !parse_code(trim(item.substr(dash + 1)), hi)) {
      return make_error(expected);
    }
    if (lo > hi) return make_error("range '" + std::string(item) + "' ends before it starts");
    return StatusRange{lo, hi};
  }
  int code = 0;
  if (!parse_code(item, code)) return make_error(expected);
  return StatusRange{code, code};
}

}  // namespace

Result<std::vector<StatusRange>> parse_status_set(std::string_view text) {
  std::vector<StatusRange> out;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    auto range = parse_item(item);
    if (!range) return range.error();
    out.push_back(*range);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::vector<StatusRange>> parse_status_sets(const std::vector<std::string>& values) {
  std::vector<StatusRange> out;
  for (const auto& v : values) {
    auto set = parse_status_set(v);
    if (!set) return set.error();
    out.insert(out.end(), set->begin(), set->end());
  }
  return out;
}

bool status_in(const std::vector<StatusRange>& set, int status) {
  for (const auto& r : set) {
    if (r.contains(status)) return true;
  }
  return false;
}

}  // namespace offpath
