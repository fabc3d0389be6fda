#include "http/message.hpp"

#include <array>

#include "common/ascii.hpp"
#include "common/memory_budget.hpp"

namespace offpath {

const std::string* HttpMessage::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals_ascii(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::int64_t HttpMessage::heap_bytes() const {
  // Each header: a name and a value, allocated beyond 15 bytes; allowance for both.
  constexpr std::int64_t kPerHeader = 2 * 24;
  std::int64_t n = offpath::heap_bytes(method) + offpath::heap_bytes(uri) +
                   offpath::heap_bytes(reason) + offpath::heap_bytes(body);
  if (headers.capacity() != 0) {
    n += offpath::heap_bytes(headers.capacity() * sizeof(HttpHeader));
    n += static_cast<std::int64_t>(headers.size()) * kPerHeader +
         static_cast<std::int64_t>(header_bytes);
  }
  return n;
}

std::string_view HttpMessage::version() const {
  // llhttp accepts single digits only (0-9 each), so the table covers every version.
  static constexpr char kDigits[] = "0123456789";
  static const auto kTable = [] {
    std::array<std::array<char, 3>, 100> t{};
    for (std::size_t i = 0; i < 100; ++i) t[i] = {kDigits[i / 10], '.', kDigits[i % 10]};
    return t;
  }();
  if (version_major == 2) return "2";  // HTTP/2 has no minor version (RFC 9113)
  if (version_major < 0 || version_major > 9 || version_minor < 0 || version_minor > 9) {
    return "?";
  }
  const auto& v = kTable[static_cast<std::size_t>(version_major * 10 + version_minor)];
  return std::string_view(v.data(), v.size());
}

}  // namespace offpath
