#include "config/cli.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <thread>

#include "common/memory_budget.hpp"
#include "config/cli_groups.hpp"
#include "config/config_file.hpp"

namespace offpath {
namespace {

// --metrics [ADDR:]PORT -> "ADDR:PORT" (ADDR defaults to 127.0.0.1; IPv6 in brackets).
std::string normalise_listen(std::string& value) {
  std::string host = "127.0.0.1";
  std::string port = value;
  if (auto colon = value.rfind(':'); colon != std::string::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.empty()) host = "127.0.0.1";
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return "expected [ADDR:]PORT, got '" + value + "'";
  }
  value = host + ":" + port;
  return "";
}

// Service operation: config file, metrics, stats log, privileges, Kubernetes names.
void add_service_options(CLI::App& app, Config& c) {
  auto& s = c.service;
  const char* group = "Service";
  app.add_option("--config", s.config_file,
                 std::string("YAML config file, one key per long flag (max_body: 4096); default ") +
                     kDefaultConfigFile + " when present, or $OFFPATH_CONFIG")
      ->type_name("FILE")
      ->group(group);
  app.add_flag("--check-config", s.check_config,
               "Check flags, environment and config file, then exit (0 ok, 2 bad)")
      ->group(group);
  app.add_option("--metrics", s.metrics,
                 "Serve Prometheus metrics at /metrics and a health check at /healthz on "
                 "[ADDR:]PORT (ADDR defaults to 127.0.0.1)")
      ->type_name("[ADDR:]PORT")
      ->transform(CLI::Validator(normalise_listen, "", "listen address"))
      ->group(group);
  app.add_option("--stats-interval", s.stats_interval_s,
                 "Log one line of counters every SECONDS (default 0 = off)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0u, 86400u))
      ->group(group);
  app.add_option("--ledger-interval", s.ledger_interval_s,
                 "Write a coverage ledger record (schema offpath/coverage/1) into the output "
                 "every SECONDS of packet time (decimals allowed) and one at the end; 0 = only "
                 "the one at the end; off = none (default: 60 live, only the one at the end "
                 "of a replay)")
      ->type_name("SECONDS|off")
      ->transform(CLI::Validator(
          [](std::string& value) -> std::string {
            if (value == "off") {
              value = "-1";
              return "";
            }
            char* end = nullptr;
            const double seconds = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != '\0' || !(seconds >= 0.0 && seconds <= 86400.0)) {
              return "a number of seconds from 0 to 86400, or off";
            }
            return "";
          },
          "", "ledger interval"))
      ->group(group);
  app.add_option("--user", s.user,
                 "When started as root, continue as this user once capture is open, keeping "
                 "only the capabilities capture needs (default: offpath if it exists, else "
                 "nobody; root = keep running as root)")
      ->group(group);
  app.add_option("--progress", s.progress,
                 "Progress line of a replay on stderr: auto (default: when stderr is a "
                 "terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->group(group);
  app.add_option("--node-name", c.record.node_name,
                 "Node name written in every native record as capture.node (Kubernetes: "
                 "OFFPATH_NODE_NAME from the downward API)")
      ->group(group);
  app.add_option("--pod-name", c.record.pod_name,
                 "Pod name written in every native record as capture.pod (OFFPATH_POD_NAME)")
      ->group(group);
}

}  // namespace

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  Config& c = cl.config;
  CLI::App app{"offpath: passive HTTP/1.x and h2c sniffer. Reassembles TCP off the wire, "
               "pairs every request with its response and publishes failed exchanges (or "
               "all) as JSON.",
               "offpath"};
  app.set_version_flag("--version", std::string("offpath ") + OFFPATH_VERSION);
  app.get_formatter()->column_width(34);

  // Input
  app.add_option("-r,--read", c.read_file, "Replay a pcap or pcapng file ('-' = standard input)")
      ->group("Input");

  // Output
  add_record_options(app, c);
  add_filter_options(app, c);
  add_gateway_options(app, c);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No end-of-run summary on stderr")->group("Output");

  // Reassembly
  app.add_option("--flow-timeout", c.reassembly.flow_idle_timeout_s,
                 "Seconds of packet time before an idle flow is closed (default 300)")
      ->check(CLI::Range(1u, 86400u))
      ->group("Reassembly");
  app.add_option("--response-timeout", c.reassembly.response_timeout_s,
                 "Seconds a request may wait for its response (default 60)")
      ->check(CLI::Range(1u, 86400u))
      ->group("Reassembly");
  app.add_option("--max-flows", c.reassembly.max_flows,
                 "Flows tracked at once; the oldest idle flow is evicted beyond (default 262144)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 26))
      ->group("Reassembly");
  app.add_option("--max-ooo-per-flow", c.reassembly.max_ooo_bytes_per_flow,
                 "Out-of-order bytes held per direction before the hole is skipped "
                 "(default 1048576)")
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 30))
      ->group("Reassembly");

  add_live_options(app, c);
  add_kafka_options(app, c);

  const unsigned cores = std::thread::hardware_concurrency();  // 0 when unknown
  c.workers = cores > 1 ? cores - 1 : 1;
  app.add_option("--workers", c.workers,
                 "Worker threads, one per core; 1 = process inline on the capture thread, in "
                 "capture order (default: cores - 1, at least 1)")
      ->check(CLI::Range(1u, 1024u))
      ->group("Operations");
  app.add_option("--max-buffered-bytes", c.reassembly.max_buffered_bytes,
                 "Out-of-order bytes held by all flows together; beyond, the least recently "
                 "active flows are evicted (default 268435456)")
      ->check(CLI::Range(std::uint64_t{65536}, std::uint64_t{1} << 40))
      ->group("Reassembly");

  app.add_option("--memory-limit", c.memory_limit,
                 "One budget for all state offpath holds (flows, parsers, open exchanges, "
                 "out-of-order bytes, queues, output); beyond shares of it, bodies, successes "
                 "and flows are shed in steps (README, Memory and shedding); K, M or G "
                 "(default 512M)")
      ->transform(CLI::Validator(
          [](std::string& text) -> std::string {
            std::uint64_t bytes = 0;
            if (!parse_memory_size(text, bytes) || bytes < (16ull << 20)) {
              return "expected a size of at least 16M, such as 512M (suffix K, M or G)";
            }
            text = std::to_string(bytes);
            return "";
          },
          "SIZE"))
      ->group("Operations");

  app.add_option("--log-level", c.log_level, "trace, debug, info (default), warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->group("Operations");
  add_service_options(app, c);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    cl.exit_now = true;
    return cl;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    cl.exit_now = true;
    return cl;
  } catch (const CLI::ParseError& e) {
    return make_error(e.what());
  }

  // Layers under the flags: environment, then the config file.
  std::string path = c.service.config_file;
  if (path.empty()) {
    if (const char* env = std::getenv("OFFPATH_CONFIG"); env != nullptr && *env != '\0') {
      path = env;
    } else if (::access(kDefaultConfigFile, F_OK) == 0) {
      path = kDefaultConfigFile;
    }
  }
  std::map<std::string, std::vector<std::string>> file;
  if (!path.empty()) {
    auto read = read_config_file(path);
    if (!read) return read.error();
    file = std::move(*read);
  }
  auto settings = apply_config_layers(app, file, path);
  if (!settings) return settings.error();
  cl.settings = std::move(*settings);
  c.service.config_file = path;
  c.summary = !quiet;
  if (c.read_file.empty() && c.live.interfaces.empty()) {
    return make_error("no input: give -r FILE to replay a capture or -i IFACE to capture live "
                      "(see --help)");
  }
  if (!c.read_file.empty() && !c.live.interfaces.empty()) {
    return make_error("-r and -i exclude each other: replay a file or capture live, not both");
  }
  if (c.kafka.topic.empty()) {
    c.kafka.topic = c.publish == PublishMode::All ? "http-exchanges" : "failed-requests";
  }
  return cl;
}

}  // namespace offpath
