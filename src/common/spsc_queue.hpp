// SpscQueue<T>: a bounded, lock-free ring of preallocated slots between exactly one
// producer thread and exactly one consumer thread. The slots are constructed once, up
// front, and reused: the producer fills a slot in place (claim, then publish) and the
// consumer reads it in place (front, then pop), so nothing is allocated or moved per item.
//
// Threads: claim()/publish()/wait_not_full() belong to the producer; front()/pop()/
// wait_not_empty() to the consumer. Everything else (capacity) is immutable. Indices are
// monotonically increasing counters; each side caches the other's index and reloads it
// only when the queue looks full (producer) or empty (consumer).
//
// Blocking is optional: the wait_* calls spin briefly, then sleep on the other side's
// index with std::atomic::wait; publish() and pop() notify. A producer that must not
// block (a live capture) simply treats claim() == nullptr as "full" and moves on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace offpath {

template <typename T>
class SpscQueue {
 public:
  // Capacity is rounded up to a power of two (at least 2). `make` builds each slot.
  template <typename Make>
  SpscQueue(std::size_t capacity, Make&& make) : mask_(round_up(capacity) - 1) {
    slots_ = std::make_unique<std::unique_ptr<T>[]>(mask_ + 1);
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i] = make();
  }
  explicit SpscQueue(std::size_t capacity)
      : SpscQueue(capacity, [] { return std::make_unique<T>(); }) {}
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // ---- producer ----
  // The next free slot, to fill in place, or nullptr when the queue is full. Calling it
  // again before publish() returns the same slot.
  T* claim() {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) return nullptr;
    }
    return slots_[head & mask_].get();
  }
  // Hands the claimed slot to the consumer.
  void publish() {
    head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    head_.notify_one();
  }
  // Blocks until claim() would succeed. Once it has to sleep, it sleeps until half the
  // queue is free, so that a producer faster than its consumer wakes once per half queue
  // rather than once per slot.
  void wait_not_full() {
    for (int spin = 0;; ++spin) {
      const std::uint64_t tail = tail_.load(std::memory_order_acquire);
      const std::uint64_t used = head_.load(std::memory_order_relaxed) - tail;
      if (used <= (spin < kSpins ? mask_ : mask_ / 2)) return;
      if (spin >= kSpins) tail_.wait(tail, std::memory_order_acquire);
    }
  }
  // Copying convenience for small values (tests, control messages).
  bool try_push(T value) {
    T* slot = claim();
    if (slot == nullptr) return false;
    *slot = std::move(value);
    publish();
    return true;
  }

  // ---- consumer ----
  // The oldest published slot, or nullptr when the queue is empty.
  T* front() {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return nullptr;
    }
    return slots_[tail & mask_].get();
  }
  // Gives the front slot back to the producer.
  void pop() {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    tail_.notify_one();
  }
  // Blocks until front() would return a slot.
  void wait_not_empty() {
    for (int spin = 0;; ++spin) {
      const std::uint64_t head = head_.load(std::memory_order_acquire);
      if (head != tail_.load(std::memory_order_relaxed)) return;
      if (spin >= kSpins) head_.wait(head, std::memory_order_acquire);
    }
  }
  bool try_pop(T& out) {
    T* slot = front();
    if (slot == nullptr) return false;
    out = std::move(*slot);
    pop();
    return true;
  }

 private:
  static constexpr int kSpins = 64;
  static constexpr std::size_t kLine = 64;
  static std::size_t round_up(std::size_t n) {
    std::size_t c = 2;
    while (c < n) c <<= 1;
    return c;
  }

  const std::uint64_t mask_;
  std::unique_ptr<std::unique_ptr<T>[]> slots_;
  // Producer's line: its index and its cached view of the consumer's.
  alignas(kLine) std::atomic<std::uint64_t> head_{0};
  std::uint64_t tail_cache_ = 0;
  // Consumer's line.
  alignas(kLine) std::atomic<std::uint64_t> tail_{0};
  std::uint64_t head_cache_ = 0;
};

}  // namespace offpath
