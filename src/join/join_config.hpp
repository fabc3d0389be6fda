// The join's settings from the configuration (--gateway, --join-*, --legs), checked:
// addresses that are not IP addresses and malformed rewrites are errors. `--gateway auto`
// makes this host's addresses candidates (auto_gateways.hpp); `--gateway none` turns the
// gateway view off (no live default, no detection in a replay). Start-up thread.
#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "join/gateway_set.hpp"
#include "join/join_window.hpp"

namespace offpath {

struct JoinSetup {
  GatewaySet gateways;                  // --gateway ADDR and local: gateways from the start
  std::vector<IpAddress> candidates;    // --gateway auto: gateways once seen acting as one
  bool enabled() const { return !gateways.empty() || !candidates.empty(); }  // else no join
  JoinOptions options;
};

Result<JoinSetup> join_setup(const GatewayOptions& options);

}  // namespace offpath
