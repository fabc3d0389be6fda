#include "config/cli.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

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
  std::map<std::string, PublishMode> publish_modes{{"failed", PublishMode::Failed},
                                                   {"all", PublishMode::All}};
  app.add_option("--publish", c.publish, "Which exchanges to publish: failed (default) or all")
      ->transform(CLI::CheckedTransformer(publish_modes, CLI::ignore_case))
      ->group("Output");
  std::map<std::string, OutputFormat> formats{{"native", OutputFormat::Native}};
  app.add_option("--format", c.record.format, "Record format: native (default)")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case))
      ->group("Output");
  app.add_option("-o,--output", c.output_file, "Write JSON lines to FILE instead of stdout")
      ->group("Output");
  app.add_option("--max-body", c.record.max_body,
                 "Bytes of each body kept in the record (default 1024, 0 = none)")
      ->check(CLI::Range(0u, 64u << 20))
      ->group("Output");
  bool no_req_body = false;
  bool no_resp_body = false;
  app.add_flag("--no-request-body", no_req_body, "Do not capture request bodies")->group("Output");
  app.add_flag("--no-response-body", no_resp_body, "Do not capture response bodies")
      ->group("Output");
  std::vector<std::string> redact;
  app.add_option("--redact", redact,
                 "Also redact this header (repeatable; Authorization, Proxy-Authorization, "
                 "Cookie and Set-Cookie always are)")
      ->group("Output");
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
  c.record.request_body = !no_req_body;
  c.record.response_body = !no_resp_body;
  c.summary = !quiet;
  for (auto& h : redact) c.record.redact_headers.push_back(h);
  if (c.read_file.empty()) {
    return make_error("no input: give -r FILE to replay a capture (see --help)");
  }
  return cl;
}

}  // namespace offpath
