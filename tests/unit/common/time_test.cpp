// Time formatting: ISO 8601 checked against gmtime_r over a wide spread of instants
// (leap years, century rules, before the epoch), and the epoch-seconds form.
#include "common/time.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>

namespace offpath {
namespace {

std::string iso(std::int64_t micros) {
  std::string s;
  append_iso8601(s, Timestamp{micros});
  return s;
}

std::string iso_from_libc(std::int64_t micros) {
  std::int64_t sec = micros / 1'000'000;
  std::int64_t usec = micros % 1'000'000;
  if (usec < 0) {
    usec += 1'000'000;
    --sec;
  }
  const auto t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(usec));
  return buf;
}

TEST(Time, Iso8601KnownInstants) {
  EXPECT_EQ(iso(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(iso(1362692526939527), "2013-03-07T21:42:06.939527Z");
  EXPECT_EQ(iso(951782400000000), "2000-02-29T00:00:00.000000Z");      // century leap day
  EXPECT_EQ(iso(4107456000000000 + 86'399'999'999), "2100-02-28T23:59:59.999999Z");
  EXPECT_EQ(iso(4107542400000000), "2100-03-01T00:00:00.000000Z");     // 2100 is no leap year
  EXPECT_EQ(iso(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Time, Iso8601WithinOneSecondAndAcrossIt) {
  EXPECT_EQ(iso(1362692526939527), "2013-03-07T21:42:06.939527Z");
  EXPECT_EQ(iso(1362692526000001), "2013-03-07T21:42:06.000001Z");  // same second
  EXPECT_EQ(iso(1362692527000000), "2013-03-07T21:42:07.000000Z");  // the next one
  EXPECT_EQ(iso(1362692526000002), "2013-03-07T21:42:06.000002Z");  // and back
  std::string s = "x";
  append_iso8601(s, Timestamp{1362692526000003});
  EXPECT_EQ(s, "x2013-03-07T21:42:06.000003Z");  // appends
}

TEST(Time, Iso8601AgreesWithGmtime) {
  std::mt19937_64 rng(42);
  // Years 1900 to 2400, including every day boundary of the first leap cycles.
  constexpr std::int64_t kFrom = -2'208'988'800LL * 1'000'000;
  constexpr std::int64_t kTo = 13'569'465'600LL * 1'000'000;
  std::uniform_int_distribution<std::int64_t> anywhere(kFrom, kTo);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t t = anywhere(rng);
    ASSERT_EQ(iso(t), iso_from_libc(t)) << t;
  }
  for (std::int64_t day = -800; day < 3000; ++day) {
    const std::int64_t t = day * 86'400'000'000LL;
    ASSERT_EQ(iso(t), iso_from_libc(t)) << t;
    ASSERT_EQ(iso(t - 1), iso_from_libc(t - 1)) << t - 1;
  }
}

TEST(Time, EpochSeconds) {
  std::string s;
  append_epoch_seconds(s, Timestamp{1362692526000001});
  EXPECT_EQ(s, "1362692526.000001");
  s.clear();
  append_epoch_seconds(s, Timestamp{0});
  EXPECT_EQ(s, "0.000000");
}

}  // namespace
}  // namespace offpath
