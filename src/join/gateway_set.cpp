#include "join/gateway_set.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace offpath {

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  const std::string s(text);
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return IpAddress::v4(buf);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return IpAddress::v6(buf);
  return std::nullopt;
}

bool GatewaySet::contains(const IpAddress& addr) const {
  return std::find(addrs_.begin(), addrs_.end(), addr) != addrs_.end();
}

Leg GatewaySet::leg_of(const Endpoint& client, const Endpoint& server) const {
  if (contains(server.addr)) return Leg::Client;
  if (contains(client.addr)) return Leg::Upstream;
  return Leg::None;
}

void GatewayDetector::on_connection(const IpAddress& client, const IpAddress& server) {
  if (client == server) return;
  if (clients_.size() < kMaxAddresses) clients_.insert(client);
  if (servers_.size() < kMaxAddresses) servers_.insert(server);
}

std::vector<IpAddress> GatewayDetector::detected() const {
  std::vector<IpAddress> out;
  std::set_intersection(clients_.begin(), clients_.end(), servers_.begin(), servers_.end(),
                        std::back_inserter(out));
  return out;
}

}  // namespace offpath
