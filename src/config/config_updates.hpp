// ConfigUpdates: how a reloaded configuration (SIGHUP) reaches the workers.
//
// The reload thread validates a new Config and publish()es it as a shared_ptr<const
// Config> snapshot; each worker's ExchangeOutput compares generation() with the one it
// last adopted between two exchanges (one relaxed-cost acquire load, never on the
// per-packet path) and, when it moved, takes current() and rebuilds its filter,
// classification and encoder from it.
//
// Why shared_ptr: workers pick a snapshot up at different moments, and one may still be
// reading snapshot N while the reload thread publishes N+1. Shared ownership keeps every
// snapshot alive exactly as long as someone reads it, without a lock around the readers
// or a grace period; the last reader frees it. The pointer itself is swapped atomically
// (std::atomic<std::shared_ptr>).
//
// Threads: publish() from the reload thread (one writer); generation() and current() from
// any worker. Owned by run_offpath(), which outlives the pipeline.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "config/config.hpp"

namespace offpath {

class ConfigUpdates {
 public:
  explicit ConfigUpdates(std::shared_ptr<const Config> first) : current_(std::move(first)) {}

  void publish(std::shared_ptr<const Config> next) {
    current_.store(std::move(next), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // Starts at 0; +1 per publish().
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Config> current() const {
    return current_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::shared_ptr<const Config>> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace offpath
