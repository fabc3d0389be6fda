#include "config/cli.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <thread>

#include "config/cli_groups.hpp"

namespace offpath {

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  Config& c = cl.config;
  CLI::App app{"offpath: passive HTTP/1.x sniffer. Reassembles TCP off the wire, pairs every "
               "request with its response and publishes failed exchanges (or all) as JSON.",
               "offpath"};
  app.set_version_flag("--version", std::string("offpath ") + OFFPATH_VERSION);
  app.get_formatter()->column_width(34);

  // Input
  app.add_option("-r,--read", c.read_file, "Replay a pcap or pcapng file ('-' = standard input)")
      ->group("Input");

  // Output
  add_record_options(app, c);
  add_filter_options(app, c);
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

  app.add_option("--log-level", c.log_level, "trace, debug, info (default), warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->group("Operations");

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
