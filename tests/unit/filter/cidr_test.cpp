#include "filter/cidr.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace offpath {
namespace {

IpAddress ip(const char* text) {
  IpAddress a;
  if (inet_pton(AF_INET, text, a.bytes.data()) == 1) {
    a.version = 4;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, a.bytes.data()), 1) << text;
    a.version = 6;
  }
  return a;
}

bool in(const char* cidr, const char* addr) {
  auto r = parse_cidr_range(cidr);
  EXPECT_TRUE(r.ok()) << cidr;
  return r.ok() && r->contains(ip(addr));
}

TEST(Cidr, MatchesIpv4Networks) {
  EXPECT_TRUE(in("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(in("10.231.0.1", "10.231.0.1"));
  EXPECT_FALSE(in("10.231.0.1", "10.231.0.2"));
  EXPECT_TRUE(in("10.231.0.0/30", "10.231.0.3"));
  EXPECT_FALSE(in("10.231.0.0/30", "10.231.0.4"));
  EXPECT_TRUE(in("0.0.0.0/0", "192.0.2.1"));
  EXPECT_TRUE(in("10.1.2.3/8", "10.9.9.9"));  // host bits are cleared
}

TEST(Cidr, MatchesIpv6NetworksAndNeverMixesFamilies) {
  EXPECT_TRUE(in("fd00:231::/32", "fd00:231::2"));
  EXPECT_FALSE(in("fd00:231::/32", "fd00:232::2"));
  EXPECT_TRUE(in("fd00:231::1", "fd00:231::1"));
  EXPECT_FALSE(in("fd00:231::1/128", "fd00:231::2"));
  EXPECT_TRUE(in("fd00::/9", "fd7f::1"));
  EXPECT_FALSE(in("fd00::/9", "fd80::1"));
  EXPECT_FALSE(in("::/0", "10.0.0.1"));
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));
}

TEST(Cidr, RejectsBadText) {
  const char* expected_prefix = "expected an IPv4 or IPv6 address or network";
  for (const char* bad : {"", "10.0.0", "10.0.0.0/", "example.com", "fd00::g"}) {
    auto r = parse_cidr_range(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind(expected_prefix, 0), 0u) << r.error().message;
  }
  auto r = parse_cidr_range("10.0.0.0/33");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "prefix length of '10.0.0.0/33' must be 0-32");
  r = parse_cidr_range("fd00::/129");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "prefix length of 'fd00::/129' must be 0-128");
  r = parse_cidr_range("10.0.0.0/x");
  ASSERT_FALSE(r.ok());
}

TEST(Cidr, CommaListsAndRepeats) {
  auto all = parse_cidr_ranges({"10.0.0.0/8,fd00::/8", "192.0.2.1"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_FALSE(parse_cidr_ranges({"10.0.0.0/8,"}).ok());
}

}  // namespace
}  // namespace offpath
