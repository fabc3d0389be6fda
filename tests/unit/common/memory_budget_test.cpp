// MemoryBudget and MemoryAccount: shedding levels with hysteresis, leases in chunks,
// sizes with K/M/G.
#include "common/memory_budget.hpp"

#include <gtest/gtest.h>

namespace offpath {
namespace {

constexpr std::uint64_t kLimit = 1000;

TEST(MemoryBudget, LevelsAtTheirThresholds) {
  EXPECT_EQ(MemoryBudget::level_for(0, kLimit, 0), 0);
  EXPECT_EQ(MemoryBudget::level_for(599, kLimit, 0), 0);
  EXPECT_EQ(MemoryBudget::level_for(600, kLimit, 0), 1);
  EXPECT_EQ(MemoryBudget::level_for(750, kLimit, 0), 2);
  EXPECT_EQ(MemoryBudget::level_for(850, kLimit, 0), 3);
  EXPECT_EQ(MemoryBudget::level_for(950, kLimit, 0), 4);
  EXPECT_EQ(MemoryBudget::level_for(5000, kLimit, 0), 4);
}

TEST(MemoryBudget, LevelsAreLeftFiveBelowWhereTheyWereTaken) {
  EXPECT_EQ(MemoryBudget::level_for(900, kLimit, 4), 4);  // above 90%: stays
  EXPECT_EQ(MemoryBudget::level_for(899, kLimit, 4), 3);
  EXPECT_EQ(MemoryBudget::level_for(800, kLimit, 3), 3);
  EXPECT_EQ(MemoryBudget::level_for(799, kLimit, 3), 2);
  EXPECT_EQ(MemoryBudget::level_for(560, kLimit, 1), 1);
  EXPECT_EQ(MemoryBudget::level_for(549, kLimit, 4), 0);
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
