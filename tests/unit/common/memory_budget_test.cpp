// MemoryBudget and MemoryAccount: shedding levels with hysteresis, leases in chunks,
// sizes with K/M/G.
#include "common/memory_budget.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

constexpr std::uint64_t kLimit = 1000;

// Levels are taken at 60/75/85/95% and left 5 points below where they were taken.
TEST(MemoryBudget, LevelsAtTheirThresholdsWithHysteresis) {
  struct Case {
    std::uint64_t used;
    int current;
    int expected;
  };
  const Case cases[] = {
      {0, 0, 0},   {599, 0, 0}, {600, 0, 1}, {750, 0, 2}, {850, 0, 3}, {950, 0, 4},
      {5000, 0, 4}, {900, 4, 4}, {899, 4, 3}, {800, 3, 3}, {799, 3, 2}, {560, 1, 1},
      {549, 4, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MemoryBudget::level_for(c.used, kLimit, c.current), c.expected)
        << "used " << c.used << " from level " << c.current;
  }
}

TEST(MemoryBudget, AccountLeasesInChunksAndGivesThemBack) {
  MemoryBudget budget(100 * MemoryBudget::kLeaseBytes);
  {
    MemoryAccount account(&budget);
    account.add(MemoryPool::Flows, 100);
    EXPECT_EQ(budget.status().used, static_cast<std::uint64_t>(MemoryBudget::kLeaseBytes));
    account.add(MemoryPool::Http, MemoryBudget::kLeaseBytes);  // one byte over the lease
    EXPECT_EQ(budget.status().used, static_cast<std::uint64_t>(2 * MemoryBudget::kLeaseBytes));
    account.add(MemoryPool::Exchanges, 60 * MemoryBudget::kLeaseBytes);
    EXPECT_EQ(budget.level(), kShedBodies);
    EXPECT_EQ(account.pools()[MemoryPool::Exchanges], 60 * MemoryBudget::kLeaseBytes);
    account.change(MemoryPool::Exchanges, 60 * MemoryBudget::kLeaseBytes, 0);
    EXPECT_EQ(budget.level(), 0);
    EXPECT_LE(budget.status().used, static_cast<std::uint64_t>(3 * MemoryBudget::kLeaseBytes));
    EXPECT_EQ(budget.status().max_level, kShedBodies);
    EXPECT_EQ(budget.status().level_changes, 2u);
  }
  EXPECT_EQ(budget.status().used, 0u);  // the account's leases went back with it
  EXPECT_GE(budget.status().peak, static_cast<std::uint64_t>(62 * MemoryBudget::kLeaseBytes));
}

TEST(MemoryBudget, ReservationsCountPerPool) {
  MemoryBudget budget(1 << 20);
  budget.reserve(MemoryPool::Queues, 800 * 1024);  // 78%
  EXPECT_EQ(budget.status().reserved[MemoryPool::Queues], 800 * 1024);
  EXPECT_EQ(budget.level(), kShedSuccesses);
  EXPECT_FALSE(budget.over_limit());
  budget.reserve(MemoryPool::Output, 300 * 1024);
  EXPECT_TRUE(budget.over_limit());
  EXPECT_EQ(budget.level(), kShedRefuse);
}

TEST(MemoryBudget, AccountWithoutBudgetOnlyCounts) {
  MemoryAccount account(nullptr);
  account.add(MemoryPool::OutOfOrder, 1 << 30);
  EXPECT_EQ(account.level(), 0);
  EXPECT_FALSE(account.over_limit());
  EXPECT_EQ(account.pools()[MemoryPool::OutOfOrder], 1 << 30);
}

TEST(MemoryBudget, HeapBytesRoundLikeMalloc) {
  EXPECT_EQ(heap_bytes(std::uint64_t{0}), 0);
  EXPECT_EQ(heap_bytes(std::uint64_t{1}), 32);
  EXPECT_EQ(heap_bytes(std::uint64_t{24}), 32);
  EXPECT_EQ(heap_bytes(std::uint64_t{25}), 48);
  EXPECT_EQ(heap_bytes(std::string("short")), 0);  // inline
  EXPECT_EQ(heap_bytes(std::string(100, 'x')), heap_bytes(std::uint64_t{101}));
}

TEST(MemorySize, SuffixesArePowersOf1024) {
  std::uint64_t v = 0;
  ASSERT_TRUE(parse_memory_size("512M", v));
  EXPECT_EQ(v, 512ull << 20);
  ASSERT_TRUE(parse_memory_size("2g", v));
  EXPECT_EQ(v, 2ull << 30);
  ASSERT_TRUE(parse_memory_size("64K", v));
  EXPECT_EQ(v, 64ull << 10);
  ASSERT_TRUE(parse_memory_size("123456", v));
  EXPECT_EQ(v, 123456u);
  EXPECT_FALSE(parse_memory_size("", v));
  EXPECT_FALSE(parse_memory_size("M", v));
  EXPECT_FALSE(parse_memory_size("1.5G", v));
  EXPECT_FALSE(parse_memory_size("-1M", v));
  EXPECT_FALSE(parse_memory_size("99999999999999G", v));
}

}  // namespace
}  // namespace offpath
