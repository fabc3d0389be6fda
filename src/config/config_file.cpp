#include "config/config_file.hpp"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <set>

namespace offpath {
namespace {

// Options with only a short name get a readable key.
const std::map<std::string, std::string, std::less<>> kShortOnlyKeys{{"X", "kafka_property"}};

// Options that are about finding the configuration, not part of it.
const std::set<std::string, std::less<>> kNoKey{"help", "version", "config", "check_config"};

std::string normalise(std::string key) {
  for (char& ch : key) {
    if (ch == '-') ch = '_';
  }
  return key;
}

std::string join(const std::vector<std::string>& values) {
  std::string s;
  for (const auto& v : values) {
    if (!s.empty()) s += ',';
    s += v;
  }
  return s;
}

bool is_flag(const CLI::Option& op) { return op.get_items_expected_max() == 0; }

std::string scalar_text(const YAML::Node& node) { return node.Scalar(); }

}  // namespace

std::string option_key(const CLI::Option& op) {
  std::string key;
  if (!op.get_lnames().empty()) {
    key = normalise(op.get_lnames().front());
  } else if (!op.get_snames().empty()) {
    auto alias = kShortOnlyKeys.find(op.get_snames().front());
    key = alias != kShortOnlyKeys.end() ? alias->second : op.get_snames().front();
  }
  if (kNoKey.count(key) != 0) return "";
  return key;
}

std::string env_name(const std::string& key) {
  std::string name = "OFFPATH_";
  for (char ch : key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

Result<std::map<std::string, std::vector<std::string>>> read_config_file(const std::string& path) {
  std::map<std::string, std::vector<std::string>> out;
  YAML::Node root;
  // A directory opens but fails on the first read, inside yaml-cpp's stream constructor
  // (which then leaks its buffer): tell it apart first.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return make_error("config file " + path + ": cannot be read (it is a directory)");
  }
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return make_error("config file " + path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    return make_error("config file " + path + ": line " + std::to_string(e.mark.line + 1) +
                      ": " + e.msg);
  } catch (const std::exception& e) {  // the stream's own failure: an I/O error
    return make_error("config file " + path + ": cannot be read (" + e.what() + ")");
  }
  if (root.IsNull()) return out;  // empty file, or only comments
  if (!root.IsMap()) {
    return make_error("config file " + path + ": expected a map of key: value at the top, found " +
                      (root.IsSequence() ? "a list" : "plain text"));
  }
  for (const auto& entry : root) {
    if (!entry.first.IsScalar()) {
      return make_error("config file " + path + ": line " +
                        std::to_string(entry.first.Mark().line + 1) + ": a key must be a name");
    }
    const std::string given = entry.first.Scalar();
    const std::string key = normalise(given);
    const std::string where = "config file " + path + ": line " +
                              std::to_string(entry.first.Mark().line + 1) + ": key " + given;
    if (out.count(key) != 0) return make_error(where + ": given twice");
    const YAML::Node& value = entry.second;
    std::vector<std::string> values;
    if (value.IsNull()) continue;  // "key:" alone leaves the default
    if (value.IsScalar()) {
      values.push_back(scalar_text(value));
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) return make_error(where + ": list items must be plain values");
        values.push_back(scalar_text(item));
      }
    } else if (value.IsMap()) {
      // Only librdkafka properties read naturally as a map: kafka_property: {acks: 1}.
      if (key != "kafka_property") {
        return make_error(where + ": expected a value or a list, not a map");
      }
      for (const auto& kv : value) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
          return make_error(where + ": property names and values must be plain values");
        }
        values.push_back(kv.first.Scalar() + "=" + kv.second.Scalar());
      }
    }
    out.emplace(key, std::move(values));
  }
  return out;
}

Result<std::vector<Setting>> apply_config_layers(
    CLI::App& app, const std::map<std::string, std::vector<std::string>>& file,
    const std::string& file_path) {
  std::vector<Setting> settings;
  std::set<std::string> known;
  const auto options = app.get_options();
  for (const CLI::Option* op : options) known.insert(option_key(*op));
  for (const auto& [key, values] : file) {
    if (known.count(key) == 0 || key.empty()) {
      return make_error("config file " + file_path + ": unknown key '" + key +
                        "' (keys are the long flag names: --max-body is max_body)");
    }
  }

  for (CLI::Option* op : app.get_options()) {
    const std::string key = option_key(*op);
    if (key.empty()) continue;
    if (op->count() > 0) {
      settings.push_back({key, join(op->results()), "flag"});
      continue;
    }
    const std::string env = env_name(key);
    std::vector<std::string> values;
    std::string origin;
    if (const char* v = std::getenv(env.c_str()); v != nullptr) {
      values.emplace_back(v);
      origin = "env " + env;
    } else if (auto it = file.find(key); it != file.end()) {
      values = it->second;
      origin = "file";
    } else {
      continue;
    }
    const std::string where =
        origin == "file" ? "config file " + file_path + ": key " + key : "environment " + env;
    if (values.empty()) continue;  // an empty list leaves the default
    if (is_flag(*op)) {
      if (values.size() != 1) return make_error(where + ": expected true or false");
      const std::string name = op->get_lnames().empty() ? op->get_snames().front()
                                                        : op->get_lnames().front();
      try {
        (void)CLI::detail::to_flag_value(values.front());
      } catch (const std::exception&) {
        return make_error(where + ": expected true or false, got '" + values.front() + "'");
      }
      values.front() = op->get_flag_value(name, values.front());
    }
    try {
      op->add_result(values);
      op->run_callback();
    } catch (const CLI::Error& e) {
      return make_error(where + ": " + e.what());
    } catch (const std::exception& e) {
      return make_error(where + ": " + e.what());
    }
    settings.push_back({key, join(values), origin});
  }
  return settings;
}

}  // namespace offpath
