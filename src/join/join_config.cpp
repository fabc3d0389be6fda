#include "join/join_config.hpp"

#include "common/ascii.hpp"

namespace offpath {

Result<JoinSetup> join_setup(const GatewayOptions& options) {
  JoinSetup s;
  for (const auto& text : options.addresses) {
    if (text == "local") {
      for (const IpAddress& a : local_addresses()) {
        if (!s.gateways.contains(a)) s.gateways.add(a);
      }
      continue;
    }
    auto addr = parse_ip_address(text);
    if (!addr) return make_error("--gateway " + text + ": not an IPv4 or IPv6 address (or local)");
    if (!s.gateways.contains(*addr)) s.gateways.add(*addr);
  }
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
