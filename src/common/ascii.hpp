// ASCII case folding for HTTP names (header names, methods): locale-free and inline,
// because header lookups run for every message. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace offpath {

constexpr char to_lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_lower_ascii(c);
  return out;
}

// True when `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

}  // namespace offpath
