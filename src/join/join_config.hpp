// The join's settings from the configuration (--gateway, --join-*, --legs), checked:
// addresses that are not IP addresses and malformed rewrites are errors. Start-up thread.
#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "join/gateway_set.hpp"
#include "join/join_window.hpp"

namespace offpath {

struct JoinSetup {
  GatewaySet gateways;  // empty: no join (the pipeline runs as without it)
  JoinOptions options;
};

Result<JoinSetup> join_setup(const GatewayOptions& options);

}  // namespace offpath
