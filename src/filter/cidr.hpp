// Address ranges for --client and --server: "10.0.0.0/8", "fd00::/16", or one address
// (a /32 or /128). Parsed at start-up; matched per exchange on the worker thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "decode/ip_address.hpp"

namespace offpath {

struct CidrRange {
  IpAddress network;  // host bits cleared
  int prefix = 0;     // 0..32 (IPv4) or 0..128 (IPv6)

  // An IPv4 range matches only IPv4 addresses, an IPv6 range only IPv6 ones.
  bool contains(const IpAddress& addr) const;
};

// The error says what was expected and quotes the text.
Result<CidrRange> parse_cidr_range(std::string_view text);

// Every value of a repeatable flag, each possibly a comma list.
Result<std::vector<CidrRange>> parse_cidr_ranges(const std::vector<std::string>& values);

}  // namespace offpath
