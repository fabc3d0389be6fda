// JsonWriter: appends JSON to a std::string without iostreams. Strings are escaped per
// RFC 8259 and always come out as valid UTF-8: control characters are escaped and bytes
// that are not well-formed UTF-8 become U+FFFD, so any bytes off the wire give valid JSON.
// Commas are placed automatically. Not thread-safe; one per encoding call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.hpp"

namespace offpath {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { value_prefix(); out_.push_back('{'); push(); }
  void end_object() { pop(); out_.push_back('}'); }
  void begin_array() { value_prefix(); out_.push_back('['); push(); }
  void end_array() { pop(); out_.push_back(']'); }
  void key(std::string_view k);
  // A key written in the source: when it needs no escape (decided at compile time once
  // inlined), copied as it is.
  template <std::size_t N>
  void key(const char (&k)[N]) {
    if (!needs_no_escape(std::string_view(k, N - 1))) {
      key(std::string_view(k, N - 1));
      return;
    }
    value_prefix();
    out_.push_back('"');
    out_.append(k, N - 1);
    out_.append("\":", 2);
    after_key_ = true;
  }

  void string(std::string_view s);
  // Writes `s` as a string if is_text(s); otherwise writes nothing and returns false.
  // One pass over `s` instead of is_text() then string().
  bool text(std::string_view s);
  void number(std::int64_t v);
  void number(std::uint64_t v);
  void number(int v) { number(static_cast<std::int64_t>(v)); }
  void number(std::uint32_t v) { number(static_cast<std::uint64_t>(v)); }
  // Fixed-point with `decimals` digits (latencies, epoch seconds).
  void fixed(double v, int decimals);
  void boolean(bool v) { value_prefix(); out_.append(v ? "true" : "false"); }
  void null() { value_prefix(); out_.append("null"); }
  // Appends pre-encoded JSON as a value.
  void raw(std::string_view json) { value_prefix(); out_.append(json); }

  template <typename T>
  void field(std::string_view k, const T& v) { key(k); value(v); }
  template <std::size_t N, typename T>
  void field(const char (&k)[N], const T& v) { key(k); value(v); }
  void value(std::string_view s) { string(s); }
  void value(const std::string& s) { string(s); }
  void value(const char* s) { string(s); }
  void value(bool b) { boolean(b); }
  void value(int v) { number(v); }
  void value(std::int64_t v) { number(v); }
  void value(std::uint64_t v) { number(v); }
  void value(std::uint32_t v) { number(v); }

  // Escapes `s` as JSON string contents (no quotes) into `out`.
  static void escape(std::string& out, std::string_view s);
  // True when every byte of `s` is printable ASCII other than '"' and '\\'.
  static constexpr bool needs_no_escape(std::string_view s) {
    for (char c : s) {
      if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') return false;
    }
    return true;
  }
  // True when `s` is well-formed UTF-8 with no NUL bytes.
  static bool is_text(std::string_view s);

 private:
  void value_prefix();
  void push();
  void pop();

  std::string& out_;
  std::uint64_t first_bits_ = 0;  // bit d set: nothing written yet at depth d
  int depth_ = 0;
  bool after_key_ = false;
};

// A packet time as two fields: `name` in epoch seconds with six decimals and `iso_name`
// in ISO 8601 (UTC). `scratch` is working space.
void write_packet_time(JsonWriter& w, std::string& scratch, std::string_view name,
                       std::string_view iso_name, Timestamp ts);

}  // namespace offpath
