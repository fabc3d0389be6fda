// Flags, OFFPATH_* environment and the YAML file: precedence, keys for every option,
// errors naming the key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/cli.hpp"
#include "config/config_file.hpp"

namespace offpath {
namespace {

class ConfigLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/offpath-config-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* v : {"OFFPATH_MAX_BODY", "OFFPATH_CONFIG", "OFFPATH_PUBLISH", "OFFPATH_PROMISC",
                          "OFFPATH_METHOD", "OFFPATH_NODE_NAME", "OFFPATH_SERVICE_HOST"}) {
      ::unsetenv(v);
    }
  }
  void TearDown() override {
    std::system(("rm -rf " + dir_).c_str());
    for (const char* v : {"OFFPATH_MAX_BODY", "OFFPATH_CONFIG", "OFFPATH_PUBLISH", "OFFPATH_PROMISC",
                          "OFFPATH_METHOD", "OFFPATH_NODE_NAME", "OFFPATH_SERVICE_HOST"}) {
      ::unsetenv(v);
    }
  }
  std::string file(const std::string& text) {
    std::string path = dir_ + "/offpath.yaml";
    std::ofstream(path) << text;
    return path;
  }
  Result<CommandLine> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "offpath");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), argv.data());
  }
  std::string dir_;
};

TEST_F(ConfigLayers, PrecedenceFlagOverEnvOverFileOverDefault) {
  const std::string cfg = file("max_body: 11\npublish: all\nmethod: [GET, POST]\n");
  struct Case {
    const char* description;
    const char* env;  // OFFPATH_MAX_BODY or null
    std::vector<std::string> flags;
    std::uint32_t expected;
  };
  const Case cases[] = {
      {"default without file", nullptr, {"-r", "x.pcap"}, 1024},
      {"file over default", nullptr, {"-r", "x.pcap", "--config", cfg}, 11},
      {"environment over file", "22", {"-r", "x.pcap", "--config", cfg}, 22},
      {"flag over environment", "22", {"-r", "x.pcap", "--config", cfg, "--max-body", "33"}, 33},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    if (c.env != nullptr) {
      ::setenv("OFFPATH_MAX_BODY", c.env, 1);
    } else {
      ::unsetenv("OFFPATH_MAX_BODY");
    }
    auto r = parse(c.flags);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->config.record.max_body, c.expected);
  }
  ::unsetenv("OFFPATH_MAX_BODY");
  auto r = parse({"-r", "x.pcap", "--config", cfg});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config.publish, PublishMode::All);
  EXPECT_EQ(r->config.filter.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(r->config.kafka.topic, "http-exchanges");  // derived after the layers
}

TEST_F(ConfigLayers, GatewayViewFromFlagsAndFile) {
  auto r = parse({"-r", "x.pcap", "--gateway", "10.0.0.5", "--gateway", "fd00::5,10.0.0.6",
                  "--join-header", "X-Trace", "--join-rewrite", "/api=/v1", "--legs", "all",
                  "--join-window", "5", "--join-settle", "0.5", "--join-max-pending", "100",
                  "--join-max-mb", "8"});
  ASSERT_TRUE(r) << r.error().message;
  const GatewayOptions& g = r->config.gateway;
  EXPECT_EQ(g.addresses, (std::vector<std::string>{"10.0.0.5", "fd00::5", "10.0.0.6"}));
  EXPECT_EQ(g.join_header, "X-Trace");
  EXPECT_EQ(g.rewrites, (std::vector<std::string>{"/api=/v1"}));
  EXPECT_EQ(g.legs, LegsMode::All);
  EXPECT_EQ(g.window_s, 5);
  EXPECT_EQ(g.settle_s, 0.5);
  EXPECT_EQ(g.max_pending, 100u);
  EXPECT_EQ(g.max_mb, 8u);
  EXPECT_FALSE(parse({"-r", "x.pcap", "--legs", "both"}));

  const std::string cfg = file("gateway: [10.0.0.7]\nlegs: client\njoin_rewrite: [/a=/b]\n");
  auto f = parse({"-r", "x.pcap", "--config", cfg});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->config.gateway.addresses, (std::vector<std::string>{"10.0.0.7"}));
  EXPECT_EQ(f->config.gateway.legs, LegsMode::Client);
  EXPECT_EQ(f->config.gateway.rewrites, (std::vector<std::string>{"/a=/b"}));
  auto d = parse({"-r", "x.pcap"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->config.gateway.addresses.empty());  // no join unless given or found
  EXPECT_EQ(d->config.gateway.legs, LegsMode::Joined);
}

TEST_F(ConfigLayers, LedgerIntervalAndCoverageTopic) {
  auto r = parse({"-r", "x.pcap"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_LT(r->config.service.ledger_interval_s, 0);  // no ledger unless asked
  EXPECT_EQ(r->config.kafka.coverage_topic, "");
  r = parse({"-r", "x.pcap", "--config", file("ledger_interval: 0.5\ncoverage_topic: cov\n")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_DOUBLE_EQ(r->config.service.ledger_interval_s, 0.5);
  EXPECT_EQ(r->config.kafka.coverage_topic, "cov");
  r = parse({"-r", "x.pcap", "--ledger-interval", "0"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_DOUBLE_EQ(r->config.service.ledger_interval_s, 0);
  EXPECT_FALSE(parse({"-r", "x.pcap", "--ledger-interval", "-1"}));
  EXPECT_FALSE(parse({"-r", "x.pcap", "--ledger-interval", "soon"}));
}

TEST_F(ConfigLayers, ConfigFileFromEnvironmentAndDashedKeys) {
  const std::string cfg = file("max-body: 7\nread: from-file.pcap\n");
  ::setenv("OFFPATH_CONFIG", cfg.c_str(), 1);
  auto r = parse({});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->config.record.max_body, 7u);
  EXPECT_EQ(r->config.read_file, "from-file.pcap");
  EXPECT_EQ(r->config.service.config_file, cfg);
}

TEST_F(ConfigLayers, FlagsAndMapsAndLists) {
  const std::string cfg = file(
      "no_request_body: true\npromisc: yes\nkafka_property: {acks: 1, linger.ms: 5}\n"
      "port: [80, 8080]\nclient: [10.0.0.0/8]\n");
  auto r = parse({"-r", "x.pcap", "--config", cfg});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->config.record.request_body);
  EXPECT_TRUE(r->config.record.response_body);
  EXPECT_TRUE(r->config.live.promiscuous);
  ASSERT_EQ(r->config.kafka.properties.size(), 2u);
  EXPECT_EQ(r->config.kafka.properties[0].first, "acks");
  EXPECT_EQ(r->config.kafka.properties[0].second, "1");
  EXPECT_EQ(r->config.live.ports, (std::vector<std::uint16_t>{80, 8080}));
  EXPECT_EQ(r->config.live.client_cidrs, (std::vector<std::string>{"10.0.0.0/8"}));
  ::setenv("OFFPATH_PROMISC", "false", 1);
  r = parse({"-r", "x.pcap", "--config", cfg});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->config.live.promiscuous);
}

TEST_F(ConfigLayers, ErrorsNameTheKey) {
  struct Case {
    const char* description;
    const char* yaml;
    const char* env;
    std::string must_contain;
  };
  const Case cases[] = {
      {"unknown key", "max_bodyy: 3\n", nullptr, "unknown key 'max_bodyy'"},
      {"not a number", "max_body: lots\n", nullptr, "key max_body"},
      {"out of range", "max_body: 99999999999\n", nullptr, "key max_body"},
      {"bad enum", "format: xml\n", nullptr, "key format"},
      {"bad flag value", "promisc: maybe\n", nullptr, "key promisc"},
      {"map where a value goes", "status: {a: 1}\n", nullptr, "key status"},
      {"not YAML", "max_body: [1,\n", nullptr, "line"},
      {"bad environment value", "", "abc", "OFFPATH_MAX_BODY"},
      {"two values for one", "max_body: [1, 2]\n", nullptr, "key max_body"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    if (c.env != nullptr) {
      ::setenv("OFFPATH_MAX_BODY", c.env, 1);
    } else {
      ::unsetenv("OFFPATH_MAX_BODY");
    }
    auto r = parse({"-r", "x.pcap", "--config", file(c.yaml)});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.must_contain), std::string::npos) << r.error().message;
  }
}

TEST_F(ConfigLayers, MissingConfigFileIsAnError) {
  auto r = parse({"-r", "x.pcap", "--config", dir_ + "/nope.yaml"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nope.yaml"), std::string::npos);
}

TEST_F(ConfigLayers, UnknownEnvironmentVariablesAreIgnored) {
  ::setenv("OFFPATH_SERVICE_HOST", "10.0.0.1", 1);  // what Kubernetes injects for a Service
  auto r = parse({"-r", "x.pcap"});
  EXPECT_TRUE(r);
}

TEST_F(ConfigLayers, KubernetesNamesFromEnvironment) {
  ::setenv("OFFPATH_NODE_NAME", "node-a", 1);
  auto r = parse({"-r", "x.pcap"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config.record.node_name, "node-a");
}

TEST_F(ConfigLayers, MetricsAddressDefaultsToLoopback) {
  auto r = parse({"-r", "x.pcap", "--metrics", "9464"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config.service.metrics, "127.0.0.1:9464");
  r = parse({"-r", "x.pcap", "--metrics", "0.0.0.0:1"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->config.service.metrics, "0.0.0.0:1");
  EXPECT_FALSE(parse({"-r", "x.pcap", "--metrics", "host:99999"}));
}

TEST_F(ConfigLayers, SettingsRecordTheOrigin) {
  const std::string cfg = file("max_body: 5\n");
  ::setenv("OFFPATH_PUBLISH", "all", 1);
  auto r = parse({"-r", "x.pcap", "--config", cfg});
  ASSERT_TRUE(r);
  std::map<std::string, std::string> origin;
  for (const auto& s : r->settings) origin[s.key] = s.origin;
  EXPECT_EQ(origin["max_body"], "file");
  EXPECT_EQ(origin["publish"], "env OFFPATH_PUBLISH");
  EXPECT_EQ(origin["read"], "flag");
}

// Every option a user can give has a file key and an environment variable, and every
// key is distinct.
TEST(ConfigKeys, EveryOptionHasAKey) {
  EXPECT_EQ(env_name("max_body"), "OFFPATH_MAX_BODY");
  CLI::App app;
  std::string s;
  std::vector<std::string> v;
  app.add_option("--max-body", s);
  app.add_option("-X", v);
  app.add_option("--config", s);
  std::vector<std::string> keys;
  for (const CLI::Option* op : app.get_options()) keys.push_back(option_key(*op));
  EXPECT_EQ(keys, (std::vector<std::string>{"", "max_body", "kafka_property", ""}));
}

}  // namespace
}  // namespace offpath
