// JsonEncoder: one exchange -> one JSON object (no newline), in the native nested format
// ("schema": "offpath/1", documented field by field in docs/record-format.md and in
// docs/schema/offpath-1.schema.json). Header names are lower-cased, repeated headers
// joined with ", ", configured headers redacted (value replaced, name kept), bodies
// decoded per Content-Encoding (gzip, deflate) unless --no-decode.
// Each worker owns one (the content decoder in it keeps state).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "output/record_encoder.hpp"

namespace offpath {

inline constexpr std::string_view kSchemaVersion = "offpath/1";

class JsonEncoder final : public RecordEncoder {
 public:
  explicit JsonEncoder(const RecordOptions& options);
  void encode(const Exchange& ex, const Classification& c, std::string& out) override;
  std::string_view schema() const override { return kSchemaVersion; }

 private:
  RecordFields fields_;
  HeaderList headers_;  // reused between records
  std::string scratch_;
};

}  // namespace offpath
