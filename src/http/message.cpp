#include "http/message.hpp"

#include <array>

#include "common/ascii.hpp"

namespace offpath {

const std::string* HttpMessage::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals_ascii(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string_view HttpMessage::version() const {
  // llhttp accepts single digits only (0-9 each), so the table covers every version.
  static constexpr char kDigits[] = "0123456789";
  static const auto kTable = [] {
    std::array<std::array<char, 3>, 100> t{};
    for (std::size_t i = 0; i < 100; ++i) t[i] = {kDigits[i / 10], '.', kDigits[i % 10]};
    return t;
  }();
  if (version_major < 0 || version_major > 9 || version_minor < 0 || version_minor > 9) {
    return "?";
  }
  const auto& v = kTable[static_cast<std::size_t>(version_major * 10 + version_minor)];
  return std::string_view(v.data(), v.size());
}

}  // namespace offpath
