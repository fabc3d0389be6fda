// MetricsText: writes the Prometheus text exposition format (version 0.0.4): one
// "# HELP" / "# TYPE" header per family, then samples with escaped label values.
// Built fresh for every scrape by the metrics thread; not shared.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace offpath {

using Label = std::pair<std::string_view, std::string_view>;

class MetricsText {
 public:
  // type: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::uint64_t value, std::initializer_list<Label> labels = {}) {
    head(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void sample(std::string_view name, double value, std::initializer_list<Label> labels = {}) {
    head(name, labels);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out_ += buf;
    out_ += '\n';
  }
  // A family with one sample, the common case.
  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, value);
  }
  void gauge(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "gauge", help);
    sample(name, value);
  }
  const std::string& text() const { return out_; }

 private:
  void head(std::string_view name, std::initializer_list<Label> labels) {
    out_ += name;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        for (char ch : v) {
          if (ch == '\\' || ch == '"') {
            out_ += '\\';
            out_ += ch;
          } else if (ch == '\n') {
            out_ += "\\n";
          } else {
            out_ += ch;
          }
        }
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string out_;
};

}  // namespace offpath
