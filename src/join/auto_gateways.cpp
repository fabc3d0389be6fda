#include "join/auto_gateways.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace offpath {

bool AutoGateways::is_candidate(const IpAddress& addr) const {
  return std::find(candidates_.begin(), candidates_.end(), addr) != candidates_.end();
}

void AutoGateways::mark(std::uint8_t what) {
  const std::uint8_t before = seen_.fetch_or(what, std::memory_order_relaxed);
  if ((before | what) == kBoth && before != kBoth) {  // this call confirmed it: said once
    std::string addrs;
    for (const IpAddress& a : candidates_) addrs += (addrs.empty() ? "" : ", ") + a.to_string();
    spdlog::info("gateway view: this host serves and opens HTTP connections; the legs of its "
                 "addresses ({}) are joined from now on", addrs);
  }
}

Leg AutoGateways::observe(const Endpoint& client, const Endpoint& server, bool http) {
  const bool serves = is_candidate(server.addr);
  const bool opens = is_candidate(client.addr);
  if (serves == opens) return Leg::None;  // neither, or the host to itself
  const std::uint8_t seen = seen_.load(std::memory_order_relaxed);
  if (seen != kBoth) {
    const std::uint8_t what = serves ? kServed : kOpened;
    if (!http || (seen & what) != 0) return Leg::None;
    mark(what);
    if (!confirmed()) return Leg::None;
  }
  return serves ? Leg::Client : Leg::Upstream;
}

}  // namespace offpath
