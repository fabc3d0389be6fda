// FlowTable<V>: the connections one worker owns, keyed by FlowKey, kept in order of last
// activity (least recently active first) so that idle timeouts and evictions take the
// oldest flows first. Not thread-safe by design: exactly one worker owns each table.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

#include "common/time.hpp"
#include "flow/flow_key.hpp"

namespace offpath {

template <typename V>
class FlowTable {
 public:
  struct Entry {
    FlowKey key;
    V value;
    Timestamp last_seen;
    Timestamp moved_at;  // when the entry last moved to the recent end of the order
  };
  // The order of activity is kept to this precision: an entry touched again within it is
  // not moved (a list splice per packet costs more than the lookup itself). Timeouts are
  // whole seconds, so the walk from the oldest entry stays exact enough.
  static constexpr std::int64_t kOrderPrecisionMicros = 100'000;

  explicit FlowTable(std::size_t expected_flows = 0) { index_.reserve(expected_flows); }
  using Iterator = typename std::list<Entry>::iterator;

  // The entry for `key`, marked as active at `now`, or nullptr.
  Entry* touch(const FlowKey& key, Timestamp now) {
    Entry* found = nullptr;
    if (recent_ != lru_.end() && recent_->key == key) {
      found = &*recent_;  // packets come in bursts of one flow: skip the hash lookup
    } else {
      auto it = index_.find(key);
      if (it == index_.end()) return nullptr;
      recent_ = it->second;
      found = &*recent_;
    }
    Entry& e = *found;
    if (now.micros - e.moved_at.micros >= kOrderPrecisionMicros || now < e.moved_at) {
      lru_.splice(lru_.end(), lru_, recent_);
      e.moved_at = now;
    }
    if (now > e.last_seen) e.last_seen = now;
    return &e;
  }

  Entry& insert(const FlowKey& key, V value, Timestamp now) {
    lru_.push_back(Entry{key, std::move(value), now, now});
    auto it = std::prev(lru_.end());
    index_[key] = it;
    return *it;
  }

  void erase(const FlowKey& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    if (recent_ == it->second) recent_ = lru_.end();
    lru_.erase(it->second);
    index_.erase(it);
  }

  // Least recently active entry, or nullptr when empty.
  Entry* oldest() { return lru_.empty() ? nullptr : &lru_.front(); }

  // Visits entries from the least recently active while `visit` returns true. The order
  // is exact to kOrderPrecisionMicros.
  template <typename F>
  void walk_oldest(F&& visit) {
    for (auto it = lru_.begin(); it != lru_.end();) {
      auto next = std::next(it);
      if (!visit(*it)) break;
      it = next;
    }
  }

  std::size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }

 private:
  std::list<Entry> lru_;
  Iterator recent_ = lru_.end();  // the entry found last (list iterators stay valid)
  std::unordered_map<FlowKey, Iterator, FlowKeyHash> index_;
};

}  // namespace offpath
