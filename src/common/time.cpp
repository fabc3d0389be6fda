#include "common/time.hpp"

#include <charconv>
#include <ctime>

namespace offpath {
namespace {

void append_padded(std::string& out, std::int64_t value, int width) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  for (auto len = end - buf; len < width; ++len) out.push_back('0');
  out.append(buf, end);
}

// Floor division so that times before the epoch still format correctly.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

void append_epoch_seconds(std::string& out, Timestamp ts) {
  std::int64_t sec = floor_div(ts.micros, 1'000'000);
  std::int64_t usec = ts.micros - sec * 1'000'000;
  append_padded(out, sec, 1);
  out.push_back('.');
  append_padded(out, usec, 6);
}

void append_iso8601(std::string& out, Timestamp ts) {
  std::int64_t sec = floor_div(ts.micros, 1'000'000);
  std::int64_t usec = ts.micros - sec * 1'000'000;
  std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  append_padded(out, tm.tm_year + 1900, 4);
  out.push_back('-');
  append_padded(out, tm.tm_mon + 1, 2);
  out.push_back('-');
  append_padded(out, tm.tm_mday, 2);
  out.push_back('T');
  append_padded(out, tm.tm_hour, 2);
  out.push_back(':');
  append_padded(out, tm.tm_min, 2);
  out.push_back(':');
  append_padded(out, tm.tm_sec, 2);
  out.push_back('.');
  append_padded(out, usec, 6);
  out.push_back('Z');
}

}  // namespace offpath
