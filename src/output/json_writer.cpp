#include "output/json_writer.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace offpath {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t left = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    return left >= 2 && (b(i + 1) & 0xC0) == 0x80 ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3) return 0;
    unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4) return 0;
    unsigned char c1 = b(i + 1);
    if ((c1 & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 || (b(i + 3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Eight bytes at a time (SWAR): a word whose bytes are all printable ASCII other than
// '"' and '\\' is copied as it is, so only the rare byte that needs care is looked at alone.
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

std::uint64_t load_word(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
// High bit set in each byte of `v` that is below `n` (n <= 128); exact as "any".
constexpr std::uint64_t bytes_below(std::uint64_t v, std::uint64_t n) {
  return (v - kOnes * n) & ~v & kHighBits;
}
constexpr std::uint64_t bytes_equal(std::uint64_t v, std::uint64_t c) {
  return bytes_below(v ^ (kOnes * c), 1);
}
// High bit set in each byte of `v` that is not plain: >= 0x7F, < 0x20, '"' or '\\'. The
// lowest one set is exact (a borrow only marks bytes after a marked one).
constexpr std::uint64_t care_bytes(std::uint64_t v) {
  return (v & kHighBits) | bytes_below(v, 0x20) | bytes_equal(v, '"') |
         bytes_equal(v, '\\') | bytes_equal(v, 0x7F);
}
constexpr bool plain(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

// End of the run of plain bytes that starts at i.
std::size_t plain_run_end(const char* p, std::size_t i, std::size_t n) {
#ifdef __SSE2__
  // Sixteen bytes at a time where SSE2 is there (every x86-64): as signed bytes, both the
  // control characters and every byte >= 0x80 compare below 0x20.
  const __m128i below = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i del = _mm_set1_epi8(0x7F);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i care = _mm_or_si128(
        _mm_or_si128(_mm_cmplt_epi8(v, below), _mm_cmpeq_epi8(v, quote)),
        _mm_or_si128(_mm_cmpeq_epi8(v, backslash), _mm_cmpeq_epi8(v, del)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(care));
    if (mask != 0) return i + static_cast<std::size_t>(std::countr_zero(mask));
    i += 16;
  }
#endif
  while (i + 8 <= n) {
    const std::uint64_t care = care_bytes(load_word(p + i));
    if (care == 0) {
      i += 8;
      continue;
    }
    if constexpr (std::endian::native == std::endian::little) {
      return i + static_cast<std::size_t>(std::countr_zero(care) / 8);
    }
    break;
  }
  while (i < n && plain(static_cast<unsigned char>(p[i]))) ++i;
  return i;
}

// Appends the escape of the byte that needs care at s[i]; returns how many bytes it
// took, or 0 if `strict` and the bytes are not text (NUL, not well-formed UTF-8).
std::size_t escape_one(std::string& out, std::string_view s, std::size_t i, bool strict) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto c = static_cast<unsigned char>(s[i]);
  switch (c) {
    case '"': out.append("\\\""); return 1;
    case '\\': out.append("\\\\"); return 1;
    case '\n': out.append("\\n"); return 1;
    case '\r': out.append("\\r"); return 1;
    case '\t': out.append("\\t"); return 1;
    default: break;
  }
  if (c < 0x20 || c == 0x7F) {
    if (strict && c == 0) return 0;
    out.append("\\u00");
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
    return 1;
  }
  std::size_t n = utf8_sequence(s, i);
  if (n == 0) {
    if (strict) return 0;
    out.append("\xEF\xBF\xBD");  // U+FFFD
    return 1;
  }
  out.append(s.data() + i, n);
  return n;
}

// The loop of escape() and escape_text().
bool escape_into(std::string& out, std::string_view s, bool strict) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  out.reserve(out.size() + n + 2);  // the usual case: no byte grows
  while (i < n) {
    std::size_t j = plain_run_end(p, i, n);
    if (j > i) {
      out.append(p + i, j - i);
      i = j;
      if (i == n) break;
    }
    std::size_t used = escape_one(out, s, i, strict);
    if (used == 0) return false;
    i += used;
  }
  return true;
}

}  // namespace

void JsonWriter::escape(std::string& out, std::string_view s) { escape_into(out, s, false); }

bool JsonWriter::is_text(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII without NUL, a word at a time.
    while (i + 8 <= n) {
      std::uint64_t v = load_word(p + i);
      if (((v & kHighBits) | bytes_below(v, 1)) != 0) break;
      i += 8;
    }
    if (i == n) break;
    if (p[i] == '\0') return false;
    std::size_t len = utf8_sequence(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool JsonWriter::text(std::string_view s) {
  const std::size_t size = out_.size();
  const std::uint64_t first_bits = first_bits_;
  const bool after_key = after_key_;
  value_prefix();
  out_.push_back('"');
  if (!escape_into(out_, s, true)) {
    out_.resize(size);
    first_bits_ = first_bits;
    after_key_ = after_key;
    return false;
  }
  out_.push_back('"');
  return true;
}

void JsonWriter::push() {
  ++depth_;
  if (depth_ < 64) first_bits_ |= (1ull << depth_);
}

void JsonWriter::pop() {
  if (depth_ > 0) --depth_;
  after_key_ = false;
}

void JsonWriter::value_prefix() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0 || depth_ >= 64) return;
  if ((first_bits_ & (1ull << depth_)) != 0) {
    first_bits_ &= ~(1ull << depth_);
  } else {
    out_.push_back(',');
  }
}

void JsonWriter::key(std::string_view k) {
  value_prefix();
  out_.push_back('"');
  escape(out_, k);
  out_.append("\":");
  after_key_ = true;
}

void JsonWriter::string(std::string_view s) {
  value_prefix();
  out_.push_back('"');
  escape(out_, s);
  out_.push_back('"');
}

void JsonWriter::number(std::int64_t v) {
  value_prefix();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
}

void JsonWriter::number(std::uint64_t v) {
  value_prefix();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
}

void JsonWriter::fixed(double v, int decimals) {
  value_prefix();
  if (!std::isfinite(v)) {
    out_.append("null");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (ec != std::errc()) {
    out_.append("null");
    return;
  }
  out_.append(buf, end);
}

void write_packet_time(JsonWriter& w, std::string& scratch, std::string_view name,
                       std::string_view iso_name, Timestamp ts) {
  scratch.clear();
  append_epoch_seconds(scratch, ts);
  w.key(name);
  w.raw(scratch);
  scratch.clear();
  append_iso8601(scratch, ts);
  w.field(iso_name, scratch);
}

}  // namespace offpath
