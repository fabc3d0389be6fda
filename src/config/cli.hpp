// Command-line parsing: argv -> Config. Called once by main() at start-up, before any
// thread starts. A bad flag or value ends the process with one clear line and exit code 2.
#pragma once

#include <string>

#include "common/result.hpp"
#include "config/config.hpp"

namespace offpath {

// What the command line asked for.
struct CommandLine {
  Config config;
  bool exit_now = false;  // --help or --version was answered
  int exit_code = 0;
};

// Parses argv. Errors are returned as a message naming the flag; help and version text
// are printed to stdout and reported with exit_now.
Result<CommandLine> parse_command_line(int argc, char** argv);

}  // namespace offpath
