// RateLimit: lets a repeated warning through at most `burst` times per `interval`, and
// says how many were held back when the next one passes ("... (41 more suppressed)").
// One instance per kind of warning, used by one thread (the service thread, a sink's
// background thread); not thread-safe. Time comes from the caller (steady clock).
#pragma once

#include <chrono>
#include <cstdint>

namespace offpath {

class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimit(Clock::duration interval = std::chrono::seconds(60), unsigned burst = 1)
      : interval_(interval), burst_(burst) {}

  // True when the caller may log now. suppressed() then tells how many calls since the
  // previous permitted one were refused.
  bool allow(Clock::time_point now) {
    if (!started_ || now - window_start_ >= interval_) {
      started_ = true;
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ < burst_) {
      ++in_window_;
      last_suppressed_ = pending_suppressed_;
      pending_suppressed_ = 0;
      return true;
    }
    ++pending_suppressed_;
    return false;
  }
  std::uint64_t suppressed() const { return last_suppressed_; }

 private:
  Clock::duration interval_;
  unsigned burst_;
  bool started_ = false;
  Clock::time_point window_start_;
  unsigned in_window_ = 0;
  std::uint64_t pending_suppressed_ = 0;
  std::uint64_t last_suppressed_ = 0;
};

}  // namespace offpath
