// The option groups of the command line, one file each, so that each feature owns its
// flags: cli.cpp builds the app and calls these. Start-up thread only.
#pragma once

namespace CLI {
class App;
}

namespace offpath {

struct Config;

void add_live_options(CLI::App& app, Config& config);   // cli_live.cpp
void add_kafka_options(CLI::App& app, Config& config);  // cli_kafka.cpp
void add_record_options(CLI::App& app, Config& config);  // cli_record.cpp: format, bodies
void add_filter_options(CLI::App& app, Config& config);  // cli_filters.cpp
void add_gateway_options(CLI::App& app, Config& config);  // cli_gateway.cpp: the join

}  // namespace offpath
