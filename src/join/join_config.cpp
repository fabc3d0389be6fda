#include "join/join_config.hpp"

#include <algorithm>

#include "common/ascii.hpp"

namespace offpath {

Result<JoinSetup> join_setup(const GatewayOptions& options) {
  JoinSetup s;
  const auto& given = options.addresses;
  if (std::find(given.begin(), given.end(), "none") != given.end()) {
    if (given.size() > 1) return make_error("--gateway none cannot be combined with addresses");
  }
  for (const auto& text : given) {
    if (text == "none") continue;
    if (text == "auto") {
      for (const IpAddress& a : local_addresses()) {
        if (std::find(s.candidates.begin(), s.candidates.end(), a) == s.candidates.end()) {
          s.candidates.push_back(a);
        }
      }
      continue;
    }
    if (text == "local") {
      for (const IpAddress& a : local_addresses()) {
        if (!s.gateways.contains(a)) s.gateways.add(a);
      }
      continue;
    }
    auto addr = parse_ip_address(text);
    if (!addr) {
      return make_error("--gateway " + text +
                        ": not an IPv4 or IPv6 address (or local, auto, none)");
    }
    if (!s.gateways.contains(*addr)) s.gateways.add(*addr);
  }
  // An address given for sure is no longer a candidate.
  std::erase_if(s.candidates, [&](const IpAddress& a) { return s.gateways.contains(a); });
  for (const auto& spec : options.rewrites) {
    if (!s.options.rewrites.add(spec)) {
      return make_error("--join-rewrite " + spec + ": expected FROM=TO, FROM starting with /");
    }
  }
  s.options.legs = options.legs;
  s.options.join_header = lower_ascii(options.join_header);
  s.options.window_micros = static_cast<std::int64_t>(options.window_s * 1e6);
  s.options.settle_micros = static_cast<std::int64_t>(options.settle_s * 1e6);
  s.options.max_exchanges = options.max_pending;
  s.options.max_bytes = options.max_mb << 20;
  return s;
}

}  // namespace offpath
