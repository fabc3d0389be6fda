// RecordEncoder: one exchange -> one record (a JSON object, no newline), in the format
// chosen with --format: native (json_encoder.hpp, "offpath/1"), openresty
// (openresty_encoder.hpp) or kong (kong_encoder.hpp). make_record_encoder() picks one.
// Also the pieces the three formats share (RecordFields): which headers are kept
// (--headers), which are redacted (--redact), the captured body with its Content-Encoding
// undone (--no-decode), and the correlation and forwarded-for values lifted from headers.
// Each worker owns one encoder (the content decoder in it keeps state); not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ascii.hpp"
#include "config/config.hpp"
#include "exchange/classify.hpp"
#include "exchange/exchange.hpp"
#include "output/content_decoder.hpp"

namespace offpath {

class RecordEncoder {
 public:
  virtual ~RecordEncoder() = default;
  // Appends the record of `ex` to `out`.
  virtual void encode(const Exchange& ex, const Classification& c, std::string& out) = 0;
  // The format's name for sinks (Kafka header "schema"): "offpath/1", "openresty", "kong".
  virtual std::string_view schema() const = 0;
};

std::unique_ptr<RecordEncoder> make_record_encoder(const RecordOptions& options);

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Request and response headers whose value is lifted into correlation_id, first found
// (request before response, then in this order). traceparent gives its trace-id.
inline constexpr std::string_view kCorrelationHeaders[] = {"x-request-id", "x-correlation-id",
                                                           "traceparent"};

// The captured body as a record shows it.
struct RecordBody {
  std::string_view bytes;              // decoded bytes, or the captured bytes as sent
  std::string_view content_encoding;   // Content-Encoding as sent; empty if none/identity
  DecodeStatus decode = DecodeStatus::Identity;
  bool decoded = false;                // bytes are the decoded content
  bool truncated = false;              // bytes are not the whole (decoded) body
  std::uint64_t encoded_size = 0;      // encoded bytes behind `bytes` when decoded
};

// The headers of one message as a record shows them. Reused between records: its strings
// keep their capacity, so filling it in the steady state does not allocate.
class HeaderList {
 public:
  using Item = std::pair<std::string, std::string>;  // lower-case name, value
  const Item* begin() const { return items_.data(); }
  const Item* end() const { return items_.data() + size_; }
  std::size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // A new last item whose strings hold whatever they held before: assign both.
  Item& push() {
    if (size_ == items_.size()) items_.emplace_back();
    return items_[size_++];
  }
  void pop() { --size_; }
  // The item named `name` before the last one, or nullptr.
  Item* find_before_last(std::string_view name) {
    for (std::size_t i = 0; i + 1 < size_; ++i) {
      if (items_[i].first == name) return &items_[i];
    }
    return nullptr;
  }

 private:
  std::vector<Item> items_;
  std::size_t size_ = 0;
};

class RecordFields {
 public:
  explicit RecordFields(const RecordOptions& options);
  const RecordOptions& options() const { return options_; }

  bool redacted(std::string_view lower_name) const;
  // Kept in the record's headers (--headers all|none|LIST).
  bool captured(std::string_view lower_name) const;
  // Headers to write: lower-case names, repeats joined with ", " in order of appearance,
  // only captured ones, redacted values replaced by kRedacted.
  void headers(const HttpMessage& m, HeaderList& out) const;
  // The captured body of `m`, decoded when options allow and the coding is gzip/deflate.
  // The view stays valid until the next call.
  RecordBody body(const HttpMessage& m);

 private:
  RecordOptions options_;
  ContentDecoder decoder_;
};

// X-Request-ID, X-Correlation-ID or traceparent's trace-id (see kCorrelationHeaders);
// empty if none. Headers named in `redacted` (lower case) are skipped.
std::string_view correlation_id(const Exchange& ex,
                                const std::vector<std::string>& redacted = {});
// X-Forwarded-For (as sent) or else X-Real-IP of the request; empty if neither.
std::string_view forwarded_for(const Exchange& ex);

// 16 lower-case hex digits of `v`, as printf's "%016llx", without printf.
struct Hex16 {
  char digits[16];
  explicit Hex16(std::uint64_t v);
  std::string_view view() const { return {digits, sizeof digits}; }
};

// Stable id of an exchange: 16 hex digits from its connection id and index.
Hex16 exchange_id_hex(const Exchange& ex);
std::string exchange_id(const Exchange& ex);
// Splits a request target into path and query ("/a/b?x=1" -> "/a/b", "x=1").
void split_target(std::string_view uri, std::string_view& path, std::string_view& query);

}  // namespace offpath
