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
  std::map<std::string, OutputFormat> formats{{"native", OutputFormat::Native},
                                               {"openresty", OutputFormat::OpenResty},
                                               {"kong", OutputFormat::Kong}};
  app.add_option("--format", c.record.format,
                 "Record format: native (default, schema offpath/1), openresty (the OpenResty "
                 "failed-request logger's fields) or kong (Kong's request-response logger)")
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
  app.add_flag("--no-decode{false}", c.record.decode_content,
               "Keep bodies as sent: do not undo Content-Encoding gzip/deflate")
      ->group("Output");
  app.add_option_function<std::string>(
         "--headers",
         [&c](const std::string& spec) {
           c.record.header_names.clear();
           if (spec == "all") {
             c.record.headers = HeaderCapture::All;
           } else if (spec == "none") {
             c.record.headers = HeaderCapture::None;
           } else {
             c.record.headers = HeaderCapture::List;
             std::size_t start = 0;
             while (start <= spec.size()) {
               std::size_t comma = spec.find(',', start);
               std::string name = spec.substr(start, comma == std::string::npos
                                                         ? std::string::npos
                                                         : comma - start);
               while (!name.empty() && name.back() == ' ') name.pop_back();
               while (!name.empty() && name.front() == ' ') name.erase(0, 1);
               if (name.empty()) throw CLI::ValidationError("--headers", "empty header name in '" + spec + "'");
               c.record.header_names.push_back(name);
               if (comma == std::string::npos) break;
               start = comma + 1;
             }
           }
         },
         "Headers kept in records: all (default), none, or a comma list of names "
         "(correlation_id and forwarded_for are read from all headers either way)")
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
