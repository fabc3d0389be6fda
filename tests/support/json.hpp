// A small strict JSON reader for tests (RFC 8259): validates a document, including the
// UTF-8 of its strings, and gives a tree that tests query by dotted path
// ("request.headers.host", "anomalies.0"). In-process, so that unit tests need no
// external tool to check that every encoded record is JSON.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace offpath::testing {

struct JsonValue {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  std::string text;  // String: decoded contents; Number: the literal as written
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  bool is_null() const { return type == Type::Null; }
  double number() const { return std::stod(text); }

  const JsonValue* find(std::string_view key) const {
    if (type == Type::Object) {
      for (const auto& [k, v] : members) {
        if (k == key) return &v;
      }
      return nullptr;
    }
    if (type == Type::Array) {
      std::size_t i = 0;
      for (char c : key) {
        if (c < '0' || c > '9') return nullptr;
        i = i * 10 + static_cast<std::size_t>(c - '0');
      }
      return i < items.size() ? &items[i] : nullptr;
    }
    return nullptr;
  }
  // Dotted path; nullptr when any step is missing.
  const JsonValue* path(std::string_view p) const {
    const JsonValue* v = this;
    while (v != nullptr && !p.empty()) {
      std::size_t dot = p.find('.');
      v = v->find(p.substr(0, dot));
      p = dot == std::string_view::npos ? std::string_view{} : p.substr(dot + 1);
    }
    return v;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  std::optional<JsonValue> document() {
    JsonValue v;
    ws();
    if (!value(v, 0)) return std::nullopt;
    ws();
    if (i_ != s_.size()) return fail("trailing bytes");
    return v;
  }
  const std::string& error() const { return error_; }
  std::size_t position() const { return i_; }

 private:
  std::nullopt_t fail(const char* what) {
    if (error_.empty()) error_ = std::string(what) + " at byte " + std::to_string(i_);
    return std::nullopt;
  }
  bool bad(const char* what) {
    fail(what);
    return false;
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return bad("bad literal");
    i_ += word.size();
    return true;
  }
  bool value(JsonValue& v, int depth) {
    if (depth > 200) return bad("too deep");
    if (i_ >= s_.size()) return bad("unexpected end");
    char c = s_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.type = JsonValue::Type::String;
      return string(v.text);
    }
    if (c == 't') { v.type = JsonValue::Type::Bool; v.boolean = true; return literal("true"); }
    if (c == 'f') { v.type = JsonValue::Type::Bool; v.boolean = false; return literal("false"); }
    if (c == 'n') { v.type = JsonValue::Type::Null; return literal("null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return number(v);
    return bad("unexpected character");
  }
  bool digits() {
    std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool number(JsonValue& v) {
    std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return bad("bad number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return bad("bad fraction");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return bad("bad exponent");
    }
    v.type = JsonValue::Type::Number;
    v.text = std::string(s_.substr(start, i_ - start));
    return true;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    auto b = [&](std::uint32_t x) { out.push_back(static_cast<char>(x)); };
    if (cp < 0x80) {
      b(cp);
    } else if (cp < 0x800) {
      b(0xC0 | (cp >> 6));
      b(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      b(0xE0 | (cp >> 12));
      b(0x80 | ((cp >> 6) & 0x3F));
      b(0x80 | (cp & 0x3F));
    } else {
      b(0xF0 | (cp >> 18));
      b(0x80 | ((cp >> 12) & 0x3F));
      b(0x80 | ((cp >> 6) & 0x3F));
      b(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(std::uint32_t& cp) {
    if (i_ + 4 > s_.size()) return bad("short \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return bad("bad hex digit");
    }
    return true;
  }
  // Length of a well-formed UTF-8 sequence at i_ (Unicode 15, table 3-7), 0 if none.
  std::size_t utf8_len() const {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s_[k]); };
    unsigned char c = at(i_);
    std::size_t left = s_.size() - i_;
    auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
      return k < s_.size() && at(k) >= lo && at(k) <= hi;
    };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i_ + 1, 0x80, 0xBF) ? 2 : 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c >= 0xE0 && c <= 0xEF) {
      return cont(i_ + 1, lo, hi) && cont(i_ + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (c >= 0xF0 && c <= 0xF4) {
      return cont(i_ + 1, lo, hi) && cont(i_ + 2, 0x80, 0xBF) && cont(i_ + 3, 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    while (true) {
      if (i_ >= s_.size()) return bad("unterminated string");
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return bad("raw control character in string");
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) return bad("unterminated escape");
        char e = s_[i_++];
        switch (e) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!hex4(cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
              std::size_t save = i_;
              i_ += 2;
              std::uint32_t lo = 0;
              if (!hex4(lo)) return false;
              if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              } else {
                i_ = save;
              }
            }
            append_utf8(out, cp);
            break;
          }
          default: return bad("bad escape");
        }
        continue;
      }
      std::size_t n = utf8_len();
      if (n == 0) return bad("invalid UTF-8 in string");
      out.append(s_.substr(i_, n));
      i_ += n;
    }
  }
  bool array(JsonValue& v, int depth) {
    v.type = JsonValue::Type::Array;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      JsonValue item;
      ws();
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      ws();
      if (i_ >= s_.size()) return bad("unterminated array");
      if (s_[i_] == ',') { ++i_; continue; }
      if (s_[i_] == ']') { ++i_; return true; }
      return bad("expected , or ]");
    }
  }
  bool object(JsonValue& v, int depth) {
    v.type = JsonValue::Type::Object;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    while (true) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') return bad("expected key");
      std::string key;
      if (!string(key)) return false;
      ws();
      if (i_ >= s_.size() || s_[i_] != ':') return bad("expected :");
      ++i_;
      ws();
      JsonValue item;
      if (!value(item, depth + 1)) return false;
      v.members.emplace_back(std::move(key), std::move(item));
      ws();
      if (i_ >= s_.size()) return bad("unterminated object");
      if (s_[i_] == ',') { ++i_; continue; }
      if (s_[i_] == '}') { ++i_; return true; }
      return bad("expected , or }");
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

// Parses a whole document; nullopt (with `error` set) when it is not valid JSON.
inline std::optional<JsonValue> parse_json(std::string_view s, std::string* error = nullptr) {
  JsonReader r(s);
  auto v = r.document();
  if (!v && error != nullptr) *error = r.error();
  return v;
}

// A boolean field (false when missing), a null field, and an array's size (0 when
// missing), by dotted path.
inline bool flag(const JsonValue& v, std::string_view path) {
  const JsonValue* x = v.path(path);
  return x != nullptr && x->type == JsonValue::Type::Bool && x->boolean;
}
inline bool is_null(const JsonValue& v, std::string_view path) {
  const JsonValue* x = v.path(path);
  return x != nullptr && x->is_null();
}
inline std::size_t count(const JsonValue& v, std::string_view path) {
  const JsonValue* x = v.path(path);
  return x == nullptr ? 0 : x->items.size();
}

}  // namespace offpath::testing
