// FlowTable: lookups, the order of activity, erasure inside probe runs (with a hash that
// puts every key in a few slots) and a long random sequence checked against std::map.
#include "flow/flow_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

namespace offpath {
namespace {

FlowKey key_of(std::uint32_t n) {
  FlowKey k;
  k.lo.addr.bytes[0] = 10;
  k.lo.addr.bytes[1] = static_cast<std::uint8_t>(n >> 16);
  k.lo.addr.bytes[2] = static_cast<std::uint8_t>(n >> 8);
  k.lo.addr.bytes[3] = static_cast<std::uint8_t>(n);
  k.lo.port = static_cast<std::uint16_t>(1024 + n % 50000);
  k.hi.addr.bytes[0] = 10;
  k.hi.addr.bytes[3] = 1;
  k.hi.port = 80;
  return k;
}

// Four home slots for all keys: long probe runs that wrap around the end of the array.
struct CollidingHash {
  std::size_t operator()(const FlowKey& k) const { return std::size_t{k.lo.addr.bytes[3] % 4u} * 5 + 13; }
};

Timestamp at(std::int64_t seconds) { return Timestamp{seconds * 1'000'000}; }

TEST(FlowTable, FindsWhatWasInsertedAndNothingElse) {
  FlowTable<int> t;
  for (std::uint32_t n = 0; n < 1000; ++n) t.insert(key_of(n), static_cast<int>(n), at(1));
  EXPECT_EQ(t.size(), 1000u);
  for (std::uint32_t n = 0; n < 1000; ++n) {
    auto* e = t.touch(key_of(n), at(1));
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->value, static_cast<int>(n));
    EXPECT_EQ(e->key, key_of(n));
  }
  EXPECT_EQ(t.touch(key_of(1000), at(1)), nullptr);
}

TEST(FlowTable, OldestFirstFollowsActivityToThePrecision) {
  FlowTable<int> t;
  t.insert(key_of(1), 1, at(1));
  t.insert(key_of(2), 2, at(2));
  t.insert(key_of(3), 3, at(3));
  ASSERT_NE(t.touch(key_of(1), at(4)), nullptr);  // 1 becomes the most recent
  std::vector<int> order;
  t.walk_oldest([&](auto& e) {
    order.push_back(e.value);
    return true;
  });
  EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
  // Within kOrderPrecisionMicros of its last move an entry keeps its place, but its
  // last_seen still advances.
  auto* e = t.touch(key_of(1), Timestamp{at(4).micros + 10});
  EXPECT_EQ(e->last_seen.micros, at(4).micros + 10);
  EXPECT_EQ(t.oldest()->value, 2);
  t.erase(key_of(2));
  EXPECT_EQ(t.oldest()->value, 3);
  order.clear();
  t.walk_oldest([&](auto& e2) {
    order.push_back(e2.value);
    return e2.value != 3;  // stops after the first
  });
  EXPECT_EQ(order, (std::vector<int>{3}));
}

TEST(FlowTable, ErasingInsideProbeRunsKeepsEveryOtherKeyReachable) {
  FlowTable<int, CollidingHash> t;
  for (std::uint32_t n = 0; n < 40; ++n) t.insert(key_of(n), static_cast<int>(n), at(1));
  for (std::uint32_t n = 0; n < 40; n += 3) t.erase(key_of(n));
  for (std::uint32_t n = 0; n < 40; ++n) {
    auto* e = t.touch(key_of(n), at(2));
    if (n % 3 == 0) {
      EXPECT_EQ(e, nullptr) << n;
    } else {
      ASSERT_NE(e, nullptr) << n;
      EXPECT_EQ(e->value, static_cast<int>(n));
    }
  }
  t.erase(key_of(999));  // absent: nothing happens
  EXPECT_EQ(t.size(), 26u);
}

TEST(FlowTable, ErasedValuesAreReleasedAndEntriesStayWhereTheyAre) {
  FlowTable<std::shared_ptr<int>> t;
  auto value = std::make_shared<int>(7);
  auto& first = t.insert(key_of(1), value, at(1));
  for (std::uint32_t n = 2; n < 5000; ++n) t.insert(key_of(n), nullptr, at(1));  // grows
  EXPECT_EQ(t.touch(key_of(1), at(1)), &first);  // the entry did not move
  EXPECT_EQ(value.use_count(), 2);
  t.erase(key_of(1));
  EXPECT_EQ(value.use_count(), 1);
}

TEST(FlowTable, RandomOperationsAgreeWithAnOrderedMap) {
  std::mt19937 rng(7);
  FlowTable<std::uint32_t, CollidingHash> colliding;
  FlowTable<std::uint32_t> spread;
  std::map<std::uint32_t, std::uint32_t> model;
  std::int64_t now = 1;
  for (int step = 0; step < 20000; ++step) {
    const auto n = static_cast<std::uint32_t>(rng() % 300);
    now += 1;
    const FlowKey k = key_of(n);
    switch (rng() % 3) {
      case 0:
        if (!model.count(n)) {
          model[n] = static_cast<std::uint32_t>(step);
          colliding.insert(k, static_cast<std::uint32_t>(step), at(now));
          spread.insert(k, static_cast<std::uint32_t>(step), at(now));
        }
        break;
      case 1:
        model.erase(n);
        colliding.erase(k);
        spread.erase(k);
        break;
      default: {
        auto* a = colliding.touch(k, at(now));
        auto* b = spread.touch(k, at(now));
        auto it = model.find(n);
        ASSERT_EQ(a != nullptr, it != model.end()) << step;
        ASSERT_EQ(b != nullptr, it != model.end()) << step;
        if (a != nullptr) {
          EXPECT_EQ(a->value, it->second);
          EXPECT_EQ(b->value, it->second);
        }
      }
    }
    ASSERT_EQ(colliding.size(), model.size());
    ASSERT_EQ(spread.size(), model.size());
  }
  // Every entry is visited exactly once, oldest first (times never decrease).
  std::size_t visited = 0;
  std::int64_t last = 0;
  spread.walk_oldest([&](auto& e) {
    EXPECT_GE(e.moved_at.micros, last);
    last = e.moved_at.micros;
    ++visited;
    return true;
  });
  EXPECT_EQ(visited, model.size());
}

}  // namespace
}  // namespace offpath
