#include "decode/ip_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace offpath {

IpAddress IpAddress::v4(const std::uint8_t* p) {
  IpAddress a;
  std::memcpy(a.bytes.data(), p, 4);
  a.version = 4;
  return a;
}

IpAddress IpAddress::v6(const std::uint8_t* p) {
  IpAddress a;
  std::memcpy(a.bytes.data(), p, 16);
  a.version = 6;
  return a;
}

std::string IpAddress::to_string() const {
  if (version == 4) {  // the common case, without inet_ntop's sprintf per octet
    char out[16];
    char* p = out;
    for (int i = 0; i < 4; ++i) {
      const unsigned b = bytes[static_cast<std::size_t>(i)];
      if (b >= 100) *p++ = static_cast<char>('0' + b / 100);
      if (b >= 10) *p++ = static_cast<char>('0' + b / 10 % 10);
      *p++ = static_cast<char>('0' + b % 10);
      if (i < 3) *p++ = '.';
    }
    return std::string(out, p);
  }
  char buf[INET6_ADDRSTRLEN] = {0};
  const int family = version == 6 ? AF_INET6 : AF_INET;
  if (inet_ntop(family, bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

}  // namespace offpath
