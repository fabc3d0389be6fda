// The layers under the command line: OFFPATH_* environment variables and the YAML config
// file. Every option of the CLI11 app gets a file key and an environment variable from its
// long name (--max-body -> key max_body, also written max-body; env OFFPATH_MAX_BODY), so
// no option is described twice. Precedence: flag > environment > file > default.
//
// Start-up thread only (and the reload thread, which builds a fresh app): parse_command_line
// calls apply_config_layers() right after CLI11 has parsed argv.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace offpath {

inline constexpr const char* kDefaultConfigFile = "/etc/offpath/offpath.yaml";

// One option's final value and where it came from, for logs and reload diffs.
struct Setting {
  std::string key;     // file key, e.g. max_body
  std::string value;   // the values as given, comma-joined
  std::string origin;  // "flag", "env OFFPATH_MAX_BODY" or "file"
};

// The file key of an option ("" for options that have none: --help, --version, --config).
std::string option_key(const CLI::Option& option);
// OFFPATH_ + the key in upper case.
std::string env_name(const std::string& key);

// Reads a YAML file (a map of key: scalar | list | map) into key -> values. Keys are
// normalised ('-' -> '_'); a null value means "not set". Errors name the file, the line
// and the key.
Result<std::map<std::string, std::vector<std::string>>> read_config_file(const std::string& path);

// Fills every option of `app` that argv did not set: from its environment variable if
// set, else from `file` (already read). A file key that names no option, or a value an
// option rejects, is an error naming the key (or the variable). Returns every option's
// final setting. Unknown OFFPATH_* variables are ignored: Kubernetes injects
// OFFPATH_SERVICE_HOST and the like for a Service named offpath.
Result<std::vector<Setting>> apply_config_layers(
    CLI::App& app, const std::map<std::string, std::vector<std::string>>& file,
    const std::string& file_path);

}  // namespace offpath
