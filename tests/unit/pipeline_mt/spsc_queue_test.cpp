#include "common/spsc_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

namespace offpath {
namespace {

TEST(SpscQueue, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(SpscQueue<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscQueue<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscQueue<int>(0).capacity(), 2u);
}

TEST(SpscQueue, EmptyQueueHasNoFront) {
  SpscQueue<int> q(4);
  EXPECT_EQ(q.front(), nullptr);
  int v = 0;
  EXPECT_FALSE(q.try_pop(v));
}

TEST(SpscQueue, FullQueueRefusesUntilPopped) {
  SpscQueue<int> q(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.try_push(i)) << i;
  EXPECT_EQ(q.claim(), nullptr);
  EXPECT_FALSE(q.try_push(99));
  int v = -1;
  ASSERT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(q.try_push(4));
  for (int want = 1; want <= 4; ++want) {
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, want);
  }
  EXPECT_FALSE(q.try_pop(v));
}

TEST(SpscQueue, SlotsAreReusedInPlace) {
  SpscQueue<std::uint64_t> q(2);
  std::uint64_t* first = q.claim();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(q.claim(), first);  // the same slot until published
  *first = 7;
  q.publish();
  EXPECT_EQ(q.front(), first);
  q.pop();
  EXPECT_TRUE(q.try_push(1));    // the second slot
  EXPECT_EQ(q.claim(), first);  // wrapped around to the first slot again
}

TEST(SpscQueue, TwoThreadsSeeEveryItemOnceInOrder) {
  constexpr std::uint64_t kItems = 200'000;
  SpscQueue<std::uint64_t> q(64);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kItems; ++i) {
      std::uint64_t* slot;
      while ((slot = q.claim()) == nullptr) q.wait_not_full();
      *slot = i;
      q.publish();
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t out_of_order = 0;
  while (expected < kItems) {
    std::uint64_t* slot = q.front();
    if (slot == nullptr) {
      q.wait_not_empty();
      continue;
    }
    if (*slot != expected) ++out_of_order;
    ++expected;
    q.pop();
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(q.front(), nullptr);
}

}  // namespace
}  // namespace offpath
