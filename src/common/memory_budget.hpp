// MemoryBudget: one limit (--memory-limit) for everything offpath holds, accounted in
// bytes as state is created and freed (never by sampling RSS), and the shedding level
// that follows from it. MemoryAccount: one worker's side of it.
//
// Design:
//  - Pools: flows (the flow tables' node blocks and indexes, which are kept for reuse
//    once made, so they count whether in use or not; each worker's table is held to
//    45% of the budget, shared among workers, by lowering --max-flows), http
//    (per-direction parser state of connections that carried data), exchanges
//    (requests and responses held until paired: their strings, headers and kept
//    bodies; and exchanges waiting in the gateway join window), out_of_order (bytes held by the reassemblers and their per-segment
//    overhead), queues (SPSC slots between the capture thread and the workers, payload
//    areas included) and output (encoder buffers, the per-lane file buffer, librdkafka's
//    in-memory queue). Sizes are estimates from
//    capacity() and sizeof(), plus a fixed allowance per heap allocation; constants
//    are next to the code that accounts each pool.
//  - Workers are shared-nothing and the per-packet path has no read-modify-write atomic:
//    each worker counts into its own MemoryAccount (plain integers, per pool) and takes
//    its share of the global budget in leases of kLeaseBytes. Only when its usage leaves
//    the lease it holds does it add to or give back to the global atomic total, which is
//    when the level is worked out again. The global total is exact to
//    2 * kLeaseBytes per account.
//  - Fixed reservations (queues, Kafka's queue) are taken once at start-up by whoever
//    creates them (reserve()).
//  - Shedding levels, each taken when usage reaches its share of the limit and left when
//    it falls kHysteresisPercent below it (kEnterPercent): 1 at 60% stops keeping bodies
//    for new messages; 2 at 75% builds records only for failed exchanges (successes are
//    counted); 3 at 85% evicts the least recently active flows (their open requests are
//    emitted as evicted), a few with each segment (kEvictPerSegment in worker.cpp), so
//    that no packet waits for thousands of evictions; 4 at 95% refuses new flows. Each
//    level includes the lower ones. At the limit itself flows are evicted until usage is
//    under it again, whatever the cost: the hard bound. Readers load the level with a
//    relaxed atomic load.
//  - A change of level is logged (at most one line a second, and always the return to
//    level 0; the summary and the metrics carry the rest: level, highest level, changes).
// Threads: MemoryBudget is shared (atomics); a MemoryAccount belongs to one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace offpath {

enum class MemoryPool : std::uint8_t { Flows, Http, Exchanges, OutOfOrder, Queues, Output, kCount };
inline constexpr std::size_t kMemoryPools = static_cast<std::size_t>(MemoryPool::kCount);
std::string_view to_string(MemoryPool pool);

// Shedding levels (each includes the ones below).
inline constexpr int kShedBodies = 1;     // bodies of new messages are not kept
inline constexpr int kShedSuccesses = 2;  // successful exchanges are counted, not encoded
inline constexpr int kShedEvict = 3;      // least recently active flows are evicted
inline constexpr int kShedRefuse = 4;     // new flows are refused
inline constexpr int kMaxShedLevel = 4;
inline constexpr std::array<unsigned, kMaxShedLevel> kEnterPercent{60, 75, 85, 95};
inline constexpr unsigned kHysteresisPercent = 5;

// Bytes per pool; gauges (summed over workers, plus the budget's reservations).
struct MemoryPools {
  std::array<std::int64_t, kMemoryPools> bytes{};
  std::int64_t& operator[](MemoryPool p) { return bytes[static_cast<std::size_t>(p)]; }
  std::int64_t operator[](MemoryPool p) const { return bytes[static_cast<std::size_t>(p)]; }
  MemoryPools& operator+=(const MemoryPools& o) {
    for (std::size_t i = 0; i < kMemoryPools; ++i) bytes[i] += o.bytes[i];
    return *this;
  }
};

// What the budget says about itself, for the summary and the metrics.
struct MemoryStatus {
  std::uint64_t limit = 0;
  std::uint64_t used = 0;        // leased by the accounts plus reservations
  std::uint64_t peak = 0;        // highest `used`
  int level = 0;
  int max_level = 0;
  std::uint64_t level_changes = 0;
  MemoryPools reserved;          // fixed reservations, per pool
};

class MemoryBudget {
 public:
  static constexpr std::int64_t kLeaseBytes = 64 * 1024;

  explicit MemoryBudget(std::uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  std::uint64_t limit() const { return limit_; }
  int level() const { return level_.load(std::memory_order_relaxed); }
  bool over_limit() const {
    return used_.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(limit_);
  }
  // Adds (or with a negative value gives back) bytes to the global total; the level is
  // worked out again. Called by accounts at lease boundaries.
  void lease(std::int64_t bytes);
  // A fixed reservation made once (queues, Kafka's queue); not released before exit.
  void reserve(MemoryPool pool, std::int64_t bytes);
  MemoryStatus status() const;

  // The level for `used` bytes, starting from `current` (hysteresis). Pure.
  static int level_for(std::uint64_t used, std::uint64_t limit, int current);

 private:
  void update_level(std::uint64_t used);

  const std::uint64_t limit_;
  std::atomic<std::int64_t> used_{0};
  std::atomic<std::int64_t> peak_{0};
  std::atomic<int> level_{0};
  std::atomic<int> max_level_{0};
  std::atomic<std::uint64_t> level_changes_{0};
  std::atomic<std::int64_t> last_log_ms_{0};
  std::array<std::atomic<std::int64_t>, kMemoryPools> reserved_{};
};

// One thread's accounting: plain counters per pool, leases from the budget (which may
// be null: accounting only, level 0, e.g. in unit tests).
class MemoryAccount {
 public:
  explicit MemoryAccount(MemoryBudget* budget) : budget_(budget) {}
  ~MemoryAccount();
  MemoryAccount(const MemoryAccount&) = delete;
  MemoryAccount& operator=(const MemoryAccount&) = delete;

  void add(MemoryPool pool, std::int64_t bytes) {
    pools_[pool] += bytes;
    used_ += bytes;
    if (used_ > leased_ || used_ + 2 * MemoryBudget::kLeaseBytes < leased_) settle();
  }
  // Moves accounting from one value to another (e.g. a connection before and after a
  // segment).
  void change(MemoryPool pool, std::int64_t before, std::int64_t after) {
    if (before != after) add(pool, after - before);
  }
  int level() const { return budget_ != nullptr ? budget_->level() : 0; }
  bool over_limit() const { return budget_ != nullptr && budget_->over_limit(); }
  const MemoryPools& pools() const { return pools_; }
  MemoryBudget* budget() const { return budget_; }

 private:
  void settle();

  MemoryBudget* budget_;
  MemoryPools pools_;
  std::int64_t used_ = 0;
  std::int64_t leased_ = 0;
};

// Bytes a heap allocation of `n` bytes costs, allocator header and rounding included
// (glibc malloc: 16-byte chunks with an 8-byte header, 32 bytes at least).
constexpr std::int64_t heap_bytes(std::uint64_t n) {
  if (n == 0) return 0;
  const std::uint64_t chunk = (n + 8 + 15) / 16 * 16;
  return static_cast<std::int64_t>(chunk < 32 ? 32 : chunk);
}

// Heap bytes of a std::string beyond its own object (none while it fits inline).
inline std::int64_t heap_bytes(const std::string& s) {
  constexpr std::size_t kInline = 15;  // libstdc++'s small-string capacity
  return s.capacity() > kInline ? heap_bytes(s.capacity() + 1) : 0;
}

// Parses a size with an optional K, M or G suffix (powers of 1024); false if malformed.
bool parse_memory_size(std::string_view text, std::uint64_t& out);

}  // namespace offpath
