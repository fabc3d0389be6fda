// JsonEncoder: one exchange -> one JSON object (no newline), in the native nested format
// ("schema": "offpath/1", documented field by field in the README and in
// docs/schema/offpath-1.schema.json). Header names are lower-cased, repeated headers
// joined with ", ", and configured headers redacted (value replaced, name kept).
// Stateless apart from its options; each worker owns one.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "exchange/classify.hpp"
#include "exchange/exchange.hpp"

namespace offpath {

inline constexpr std::string_view kSchemaVersion = "offpath/1";
inline constexpr std::string_view kRedacted = "[REDACTED]";

// Stable id of an exchange: 16 hex digits from its connection id and index.
std::string exchange_id(const Exchange& ex);
// Splits a request target into path and query ("/a/b?x=1" -> "/a/b", "x=1").
void split_target(std::string_view uri, std::string_view& path, std::string_view& query);

class JsonEncoder {
 public:
  explicit JsonEncoder(const RecordOptions& options);
  void encode(const Exchange& ex, const Classification& c, std::string& out) const;

 private:
  bool redacted(std::string_view lower_name) const;
  RecordOptions options_;
};

}  // namespace offpath
