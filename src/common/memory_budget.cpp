#include "common/memory_budget.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace offpath {
namespace {

constexpr std::int64_t kLogIntervalMs = 1000;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kShedNames[kMaxShedLevel + 1] = {
    "none", "bodies not kept", "successes not encoded", "evicting least recently active flows",
    "refusing new flows"};

}  // namespace

std::string_view to_string(MemoryPool pool) {
  switch (pool) {
    case MemoryPool::Flows: return "flows";
    case MemoryPool::Http: return "http";
    case MemoryPool::Exchanges: return "exchanges";
    case MemoryPool::OutOfOrder: return "out_of_order";
    case MemoryPool::Queues: return "queues";
    case MemoryPool::Output: return "output";
    case MemoryPool::kCount: break;
  }
  return "unknown";
}

int MemoryBudget::level_for(std::uint64_t used, std::uint64_t limit, int current) {
  // Percent of the limit, without overflow for any limit.
  const long double share = limit == 0 ? 100.0L : 100.0L * static_cast<long double>(used) /
                                                      static_cast<long double>(limit);
  int level = current;
  while (level < kMaxShedLevel && share >= kEnterPercent[static_cast<std::size_t>(level)]) ++level;
  while (level > 0 &&
         share < kEnterPercent[static_cast<std::size_t>(level - 1)] - kHysteresisPercent) {
    --level;
  }
  return level;
}

void MemoryBudget::lease(std::int64_t bytes) {
  const std::int64_t used = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (used > peak && !peak_.compare_exchange_weak(peak, used, std::memory_order_relaxed)) {
  }
  update_level(static_cast<std::uint64_t>(used < 0 ? 0 : used));
}

void MemoryBudget::reserve(MemoryPool pool, std::int64_t bytes) {
  reserved_[static_cast<std::size_t>(pool)].fetch_add(bytes, std::memory_order_relaxed);
  lease(bytes);
}

void MemoryBudget::update_level(std::uint64_t used) {
  int current = level_.load(std::memory_order_relaxed);
  int next = level_for(used, limit_, current);
  while (next != current) {
    if (level_.compare_exchange_weak(current, next, std::memory_order_relaxed)) break;
    next = level_for(used, limit_, current);
  }
  if (next == current) return;
  level_changes_.fetch_add(1, std::memory_order_relaxed);
  int max = max_level_.load(std::memory_order_relaxed);
  while (next > max && !max_level_.compare_exchange_weak(max, next, std::memory_order_relaxed)) {
  }
  const std::int64_t now = steady_ms();
  std::int64_t last = last_log_ms_.load(std::memory_order_relaxed);
  // At most a line a second, but the return to level 0 is always told.
  if ((next == 0 || now - last >= kLogIntervalMs) &&
      last_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    spdlog::warn("memory shedding level {} -> {} ({}): {} of {} bytes in use", current, next,
                 kShedNames[static_cast<std::size_t>(next)], used, limit_);
  }
}

MemoryStatus MemoryBudget::status() const {
  MemoryStatus s;
  s.limit = limit_;
  const std::int64_t used = used_.load(std::memory_order_relaxed);
  s.used = used < 0 ? 0 : static_cast<std::uint64_t>(used);
  s.peak = static_cast<std::uint64_t>(peak_.load(std::memory_order_relaxed));
  s.level = level_.load(std::memory_order_relaxed);
  s.max_level = max_level_.load(std::memory_order_relaxed);
  s.level_changes = level_changes_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kMemoryPools; ++i) {
    s.reserved.bytes[i] = reserved_[i].load(std::memory_order_relaxed);
  }
  return s;
}

MemoryAccount::~MemoryAccount() {
  if (budget_ != nullptr && leased_ != 0) budget_->lease(-leased_);
}

void MemoryAccount::settle() {
  // Lease whole chunks so that usage sits inside [leased - 2 chunks, leased].
  std::int64_t target = (used_ + MemoryBudget::kLeaseBytes - 1) / MemoryBudget::kLeaseBytes *
                        MemoryBudget::kLeaseBytes;
  if (target < 0) target = 0;
  const std::int64_t delta = target - leased_;
  leased_ = target;
  if (budget_ != nullptr && delta != 0) budget_->lease(delta);
}

bool parse_memory_size(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  std::uint64_t unit = 1;
  switch (text.back()) {
    case 'k': case 'K': unit = 1ull << 10; break;
    case 'm': case 'M': unit = 1ull << 20; break;
    case 'g': case 'G': unit = 1ull << 30; break;
    default: break;
  }
  if (unit != 1) text.remove_suffix(1);
  if (text.empty() || text.size() > 15) return false;
  std::uint64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  if (v > (~std::uint64_t{0}) / unit) return false;
  out = v * unit;
  return true;
}

}  // namespace offpath
