// Command-line parsing: argv, OFFPATH_* environment and the YAML config file -> Config
// (config_file.hpp for the layers). Called by main() at start-up, before any thread
// starts, and again by the reload thread on SIGHUP (it builds its own CLI11 app). A bad flag or value ends the process with one clear line and exit code 2.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "config/config_file.hpp"

namespace offpath {

// What the command line asked for.
struct CommandLine {
  Config config;
  bool exit_now = false;  // --help or --version was answered
  int exit_code = 0;
  std::vector<Setting> settings;  // every option set by a flag, the environment or the file
};

// Parses argv and the layers under it. Errors are returned as a message naming the flag; help and version text
// are printed to stdout and reported with exit_now.
Result<CommandLine> parse_command_line(int argc, char** argv);

}  // namespace offpath
