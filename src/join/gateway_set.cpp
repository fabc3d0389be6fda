#include "join/gateway_set.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace offpath {

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  const std::string s(text);
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return IpAddress::v4(buf);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return IpAddress::v6(buf);
  return std::nullopt;
}

std::vector<IpAddress> local_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    IpAddress a;
    if (i->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin;
      std::memcpy(&sin, i->ifa_addr, sizeof sin);
      a = IpAddress::v4(reinterpret_cast<const std::uint8_t*>(&sin.sin_addr));
      if (a.bytes[0] == 127) continue;
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
      a = IpAddress::v6(reinterpret_cast<const std::uint8_t*>(&sin6.sin6_addr));
      if (IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr)) continue;
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeifaddrs(list);
  return out;
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
