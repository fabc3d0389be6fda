#include "filter/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace offpath {

bool CidrRange::contains(const IpAddress& addr) const {
  if (addr.version != network.version) return false;
  int full = prefix / 8;
  if (std::memcmp(addr.bytes.data(), network.bytes.data(), static_cast<std::size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (addr.bytes[static_cast<std::size_t>(full)] & mask) ==
         network.bytes[static_cast<std::size_t>(full)];
}

Result<CidrRange> parse_cidr_range(std::string_view text) {
  const std::string expected = "expected an IPv4 or IPv6 address or network (10.0.0.0/8, fd00::/16), got '" +
                               std::string(text) + "'";
  std::string_view addr_text = text;
  std::string_view prefix_text;
  if (std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    prefix_text = text.substr(slash + 1);
    if (prefix_text.empty()) return make_error(expected);
  }
  CidrRange r;
  std::string addr(addr_text);
  int max_prefix = 0;
  if (addr.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, addr.c_str(), r.network.bytes.data()) != 1) return make_error(expected);
    r.network.version = 6;
    max_prefix = 128;
  } else {
    if (inet_pton(AF_INET, addr.c_str(), r.network.bytes.data()) != 1) return make_error(expected);
    r.network.version = 4;
    max_prefix = 32;
  }
  r.prefix = max_prefix;
  if (!prefix_text.empty()) {
    int p = -1;
    auto [end, ec] = std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), p);
    if (ec != std::errc() || end != prefix_text.data() + prefix_text.size() || p < 0 || p > max_prefix) {
      return make_error("prefix length of '" + std::string(text) + "' must be 0-" +
                        std::to_string(max_prefix));
    }
    r.prefix = p;
  }
  // Clear the host bits, so "10.1.2.3/8" means 10.0.0.0/8.
  for (int bit = r.prefix; bit < max_prefix; ++bit) {
    r.network.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return r;
}

Result<std::vector<CidrRange>> parse_cidr_ranges(const std::vector<std::string>& values) {
  std::vector<CidrRange> out;
  for (const auto& v : values) {
    std::string_view rest = v;
    while (true) {
      std::size_t comma = rest.find(',');
      auto r = parse_cidr_range(rest.substr(0, comma));
      if (!r) return r.error();
      out.push_back(*r);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace offpath
