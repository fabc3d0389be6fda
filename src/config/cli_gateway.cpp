#include <CLI/CLI.hpp>

#include <map>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {

void add_gateway_options(CLI::App& app, Config& c) {
  auto& g = c.gateway;
  const char* group = "Gateway view";
  app.add_option("--gateway", g.addresses,
                 "A gateway address (repeatable, IPv4 or IPv6; 'local' = this host's interface "
                 "addresses; 'auto' = the same once the host serves and opens HTTP "
                 "connections, the live default; 'none' = no gateway view): joins each "
                 "client-leg exchange with its upstream attempts; a replay without it "
                 "detects them")
      ->delimiter(',')
      ->group(group);
  app.add_option("--join-header", g.join_header,
                 "A request id header to join legs by, before X-Request-ID, X-Correlation-ID "
                 "and traceparent")
      ->group(group);
  app.add_option("--join-rewrite", g.rewrites,
                 "A prefix the gateway swaps in request targets, FROM=TO (e.g. /api=/v1; "
                 "repeatable)")
      ->group(group);
  std::map<std::string, LegsMode> legs{{"joined", LegsMode::Joined},
                                       {"client", LegsMode::Client},
                                       {"upstream", LegsMode::Upstream},
                                       {"all", LegsMode::All}};
  app.add_option("--legs", g.legs,
                 "Records of gateway legs: joined (default: client legs with their upstream, "
                 "unjoined upstream legs alone), client, upstream or all")
      ->transform(CLI::CheckedTransformer(legs, CLI::ignore_case))
      ->group(group);
  app.add_option("--join-window", g.window_s,
                 "Seconds of packet time an upstream attempt waits for its client exchange "
                 "(default 10)")
      ->check(CLI::Range(0.1, 3600.0))
      ->group(group);
  app.add_option("--join-settle", g.settle_s,
                 "Seconds of packet time a client exchange waits after its end for upstream "
                 "attempts reported late (default 3)")
      ->check(CLI::Range(0.0, 600.0))
      ->group(group);
  app.add_option("--join-max-pending", g.max_pending,
                 "Exchanges waiting to be joined at once (default 65536)")
      ->check(CLI::Range(16, 1 << 24))
      ->group(group);
  app.add_option("--join-max-mb", g.max_mb,
                 "Estimated memory of the exchanges waiting to be joined, MB (default 64)")
      ->check(CLI::Range(1, 65536))
      ->group(group);
}

}  // namespace offpath
