#include <CLI/CLI.hpp>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {

// Exchange filters and failure classification (tcpdump/kcat-style narrowing).
void add_filter_options(CLI::App& app, Config& c) {
  (void)app;
  (void)c;
}

}  // namespace offpath
