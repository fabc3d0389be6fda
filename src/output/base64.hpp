// Standard base64 (RFC 4648, with padding) for binary bodies in JSON records.
// Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

namespace offpath {

inline void base64_encode(std::string_view in, std::string& out) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (byte(i) << 16u) | (byte(i + 1) << 8u) | byte(i + 2);
    out.push_back(kTable[(v >> 18) & 63]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(kTable[(v >> 6) & 63]);
    out.push_back(kTable[v & 63]);
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = byte(i) << 16u;
    if (rest == 2) v |= byte(i + 1) << 8u;
    out.push_back(kTable[(v >> 18) & 63]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kTable[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

}  // namespace offpath
