#include <CLI/CLI.hpp>

#include <string_view>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {
namespace {

// --client and --server also narrow live capture in the kernel: keep a copy, one network
// per entry, in the live options.
void also_live(std::vector<std::string>& live, const std::string& value) {
  std::string_view rest = value;
  while (true) {
    std::size_t comma = rest.find(',');
    live.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace

// Exchange filters and failure classification (tcpdump/kcat-style narrowing). Values are
// kept as given; filter/filter_set.cpp parses them and names the flag in any error.
void add_filter_options(CLI::App& app, Config& c) {
  auto& f = c.filter;
  const char* group = "Filters (repeat a flag or give a comma list for OR; different flags AND)";
  app.add_option("--method", f.methods, "Only these request methods (GET,POST)")->group(group);
  app.add_option("--host", f.hosts,
                 "Only this Host header, without port: exact or *.example.com (case-insensitive)")
      ->group(group);
  app.add_option("--path", f.paths,
                 "Only paths starting with this prefix; a glob if it has * ? [ ] ('/api/*')")
      ->group(group);
  app.add_option("--path-regex", f.path_regexes,
                 "Only paths where this ECMAScript regex matches (anchor with ^ $)")
      ->group(group);
  app.add_option("--status", f.statuses, "Only these response statuses: 404, 500-599, 5xx")
      ->group(group);
  app.add_option("--client", f.client_cidrs, "Only clients in this network (10.0.0.0/8, fd00::/16)")
      ->each([&c](const std::string& v) { also_live(c.live.client_cidrs, v); })
      ->group(group);
  app.add_option("--server", f.server_cidrs, "Only servers in this network (10.0.0.5, fd00::/64)")
      ->each([&c](const std::string& v) { also_live(c.live.server_cidrs, v); })
      ->group(group);
  app.add_option_function<double>(
         "--min-latency", [&f](const double& ms) { f.min_latency_ms = ms; },
         "Only exchanges with a response at least this many ms after the request")
      ->type_name("MS")
      ->group(group);
  app.add_option("--header", f.headers,
                 "Only exchanges whose request or response has header NAME (or NAME=VALUE)")
      ->type_name("NAME[=VALUE]")
      ->group(group);
  app.add_option_function<double>(
         "--sample", [&f](const double& rate) { f.sample = rate; },
         "With --publish all, keep this fraction (0..1) of successful exchanges, the same "
         "ones on every replay; failed ones are always kept")
      ->type_name("RATE")
      ->group(group);

  const char* classify = "Classification (what counts as failed)";
  app.add_option("--failed-status", f.failed_status,
                 "Statuses that count as failed, as for --status (default 400-599)")
      ->group(classify);
  app.add_option_function<double>(
         "--slow", [&f](const double& ms) { f.slow_ms = ms; },
         "Exchanges slower than this many ms count as failed (error_type slow)")
      ->type_name("MS")
      ->group(classify);
  app.add_option("--failed-outcomes", f.failed_outcomes,
                 "Outcomes without a response that count as failed (default all: "
                 "connection_reset,connection_closed,capture_ended,timeout,evicted,parse_error,"
                 "connection_refused,connect_timeout,stream_reset,goaway; or none)")
      ->type_name("LIST")
      ->group(classify);
  app.add_option("--grpc-failed-codes", f.grpc_failed_codes,
                 "gRPC status codes that make an exchange failed, by number (14) or name "
                 "(UNAVAILABLE) (default all but OK: 1-16; or none)")
      ->type_name("LIST")
      ->group(classify);
  app.add_flag("--connect-failures", f.connect_failures,
               "Also report connection attempts refused (SYN answered by RST) or never "
               "answered (no SYN-ACK) as backend_unavailable events")
      ->group(classify);
}

}  // namespace offpath
