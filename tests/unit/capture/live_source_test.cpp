// Pure parts of live capture: network parsing and the pcap filter built from the options.
#include "capture/live_source.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

TEST(ParseCidr, AcceptsAndNormalises) {
  struct Case {
    const char* text;
    const char* normalized;
    unsigned prefix;
    bool ipv4;
  };
  const Case cases[] = {
      {"10.1.2.3/16", "10.1.0.0/16", 112, true},
      {"192.0.2.7", "192.0.2.7/32", 128, true},
      {"0.0.0.0/0", "0.0.0.0/0", 96, true},
      {"2001:db8::1/32", "2001:db8::/32", 32, false},
      {"::1", "::1/128", 128, false},
  };
  for (const auto& c : cases) {
    auto cidr = parse_cidr(c.text);
    ASSERT_TRUE(cidr.ok()) << c.text << ": " << cidr.error().message;
    EXPECT_EQ(cidr->normalized(), c.normalized) << c.text;
    EXPECT_EQ(cidr->prefix, c.prefix) << c.text;
    EXPECT_EQ(cidr->ipv4, c.ipv4) << c.text;
  }
  auto mapped = parse_cidr("10.1.2.3/16");
  ASSERT_TRUE(mapped.ok());
  const std::uint8_t expected[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 0};
  EXPECT_EQ(0, std::memcmp(mapped->addr.data(), expected, 16));
}

TEST(ParseCidr, RejectsWithReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.0/33", "prefix above 32"},
      {"2001:db8::/129", "prefix above 128"},
      {"10.0.0.0/x", "not a number"},
      {"10.0.0.0/", "not a number"},
      {"example.com/8", "not an IPv4 or IPv6 address"},
  };
  for (const auto& [text, why] : cases) {
    auto cidr = parse_cidr(text);
    ASSERT_FALSE(cidr.ok()) << text;
    EXPECT_NE(cidr.error().message.find(why), std::string::npos) << cidr.error().message;
    EXPECT_NE(cidr.error().message.find(text), std::string::npos) << cidr.error().message;
  }
}

TEST(BuildPcapFilter, CombinesExpressionPortsAndNetworks) {
  struct Case {
    const char* description;
    LiveCaptureOptions options;
    const char* expected;
  };
  auto opts = [](std::string filter, std::vector<std::uint16_t> ports,
                 std::vector<std::string> clients, std::vector<std::string> servers) {
    LiveCaptureOptions o;
    o.filter = std::move(filter);
    o.ports = std::move(ports);
    o.client_cidrs = std::move(clients);
    o.server_cidrs = std::move(servers);
    return o;
  };
  const Case cases[] = {
      {"nothing restricts", opts("", {}, {}, {}), ""},
      {"expression only", opts("tcp port 80", {}, {}, {}), "tcp port 80"},
      {"ports only", opts("", {80, 8080}, {}, {}),
       "((tcp and (dst port 80 or dst port 8080)) or "
       "(tcp and (src port 80 or src port 8080)))"},
      {"expression and a port", opts("vlan", {80}, {}, {}),
       "(vlan) and ((tcp and (dst port 80)) or (tcp and (src port 80)))"},
      {"networks oriented", opts("", {80}, {"10.1.2.3/16"}, {"2001:db8::/32"}),
       "((tcp and (dst port 80) and (src net 10.1.0.0/16) and (dst net 2001:db8::/32)) or "
       "(tcp and (src port 80) and (dst net 10.1.0.0/16) and (src net 2001:db8::/32)))"},
      {"server network alone", opts("", {}, {}, {"192.0.2.0/24"}),
       "((tcp and (dst net 192.0.2.0/24)) or (tcp and (src net 192.0.2.0/24)))"},
  };
  for (const auto& c : cases) {
    auto filter = build_pcap_filter(c.options);
    ASSERT_TRUE(filter.ok()) << c.description << ": " << filter.error().message;
    EXPECT_EQ(filter.value(), c.expected) << c.description;
  }
}

TEST(BuildPcapFilter, BadNetworkNamesTheFlag) {
  LiveCaptureOptions o;
  o.server_cidrs = {"300.1.1.1/8"};
  auto filter = build_pcap_filter(o);
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.error().message.rfind("--server: bad network '300.1.1.1/8'", 0), 0u)
      << filter.error().message;
}

TEST(MakeLiveSource, NeedsAnInterface) {
  LiveCaptureOptions o;
  auto source = make_live_source(o);
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.error().message.find("-i"), std::string::npos);
}

}  // namespace
}  // namespace offpath
