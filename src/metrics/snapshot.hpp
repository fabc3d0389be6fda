// SnapshotSlot<T>: how counters owned by one thread (a worker, the capture thread) reach
// the metrics thread. The owner keeps counting in plain fields, as before, and now and
// then (once per queue batch, or every kPublishEvery frames; never per packet) copies them
// into the slot with try_publish(), which never waits: if the metrics thread is reading
// at that moment the copy is skipped and the next one goes through. read() copies out
// under the same small mutex. publish() (waiting) is for the final counters at finish.
//
// A mutex rather than per-field atomics because a snapshot must be consistent (the
// exchanges by outcome add up to the exchanges), and T is a few hundred bytes.
#pragma once

#include <mutex>

namespace offpath {

template <typename T>
class SnapshotSlot {
 public:
  static constexpr unsigned kPublishEvery = 1024;

  void try_publish(const T& value) {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (lock.owns_lock()) {
      value_ = value;
      valid_ = true;
    }
  }
  void publish(const T& value) {
    std::lock_guard lock(mutex_);
    value_ = value;
    valid_ = true;
  }
  // False until something was published.
  bool read(T& out) const {
    std::lock_guard lock(mutex_);
    if (valid_) out = value_;
    return valid_;
  }

 private:
  mutable std::mutex mutex_;
  T value_{};
  bool valid_ = false;
};

}  // namespace offpath
