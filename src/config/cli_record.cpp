#include <CLI/CLI.hpp>

#include <map>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {

void add_record_options(CLI::App& app, Config& c) {
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
  app.add_flag("--no-request-body{false}", c.record.request_body,
               "Do not capture request bodies")
      ->group("Output");
  app.add_flag("--no-response-body{false}", c.record.response_body,
               "Do not capture response bodies")
      ->group("Output");
  // Appends to the defaults (Authorization, Proxy-Authorization, Cookie, Set-Cookie),
  // which are always redacted.
  app.add_option_function<std::vector<std::string>>(
         "--redact",
         [&c](const std::vector<std::string>& names) {
           for (const auto& n : names) c.record.redact_headers.push_back(n);
         },
         "Also redact this header (repeatable; Authorization, Proxy-Authorization, Cookie and "
         "Set-Cookie always are)")
      ->group("Output");
}

}  // namespace offpath
