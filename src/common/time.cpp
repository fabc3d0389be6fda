#include "common/time.hpp"

#include <charconv>
#include <cstring>

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

namespace {

// Year, month and day of a count of days since 1970-01-01 in the proleptic Gregorian
// calendar (H. Hinnant's civil_from_days): no gmtime_r, no time zone machinery.
void civil_from_days(std::int64_t days, std::int64_t& year, int& month, int& day) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const auto doe = static_cast<unsigned>(days - era * 146097);           // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                // [0, 11]
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

// Writes `value` (>= 0) as exactly `width` digits ending just before `end`.
void put_digits(char* end, std::int64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void append_iso8601(std::string& out, Timestamp ts) {
  const std::int64_t sec = floor_div(ts.micros, 1'000'000);
  const std::int64_t usec = ts.micros - sec * 1'000'000;
  // Records come in bursts within one second: the text up to the seconds is kept per
  // thread and only the microseconds are written anew.
  struct SecondText {
    std::int64_t sec = -1;
    char text[20];  // "YYYY-MM-DDTHH:MM:SS"
  };
  thread_local SecondText cache;
  if (sec == cache.sec) {
    char frac[] = ".000000Z";
    put_digits(frac + 7, usec, 6);
    out.append(cache.text, sizeof cache.text - 1);
    out.append(frac, sizeof frac - 1);
    return;
  }
  const std::int64_t days = floor_div(sec, 86'400);
  const std::int64_t sod = sec - days * 86'400;
  std::int64_t year = 0;
  int month = 0;
  int day = 0;
  civil_from_days(days, year, month, day);
  char buf[] = "0000-00-00T00:00:00.000000Z";
  put_digits(buf + 7, month, 2);
  put_digits(buf + 10, day, 2);
  put_digits(buf + 13, sod / 3600, 2);
  put_digits(buf + 16, sod / 60 % 60, 2);
  put_digits(buf + 19, sod % 60, 2);
  put_digits(buf + 26, usec, 6);
  if (year >= 0 && year <= 9999) {
    put_digits(buf + 4, year, 4);
    out.append(buf, sizeof buf - 1);
    cache.sec = sec;
    std::memcpy(cache.text, buf, sizeof cache.text - 1);
  } else {
    append_padded(out, year, 4);  // far outside any capture: as many digits as it takes
    out.append(buf + 4, sizeof buf - 5);
  }
}

}  // namespace offpath
