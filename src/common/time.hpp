// Packet time: microseconds since the Unix epoch, as captured. Every timeout in offpath
// runs on this clock, never on the wall clock, so a replay behaves like the live capture
// it was recorded from. Pure values; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace offpath {

struct Timestamp {
  std::int64_t micros = 0;  // since 1970-01-01T00:00:00Z

  static constexpr Timestamp from_seconds(std::int64_t sec, std::int64_t usec) {
    return Timestamp{sec * 1'000'000 + usec};
  }
  constexpr bool operator==(const Timestamp&) const = default;
  constexpr auto operator<=>(const Timestamp&) const = default;
};

// Milliseconds between two packet times (b - a), as a double with microsecond precision.
constexpr double millis_between(Timestamp a, Timestamp b) {
  return static_cast<double>(b.micros - a.micros) / 1000.0;
}

// "1362692526.939527": seconds since the epoch with six decimals.
void append_epoch_seconds(std::string& out, Timestamp ts);

// "2013-03-07T21:42:06.939527Z": ISO 8601 in UTC with microseconds.
void append_iso8601(std::string& out, Timestamp ts);

}  // namespace offpath
