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
  };
  using Iterator = typename std::list<Entry>::iterator;

  // The entry for `key`, marked as active at `now`, or nullptr.
  Entry* touch(const FlowKey& key, Timestamp now) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.end(), lru_, it->second);
    it->second->last_seen = now;
    return &*it->second;
  }

  Entry& insert(const FlowKey& key, V value, Timestamp now) {
    lru_.push_back(Entry{key, std::move(value), now});
    auto it = std::prev(lru_.end());
    index_[key] = it;
    return *it;
  }

  void erase(const FlowKey& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
  }

  // Least recently active entry, or nullptr when empty.
  Entry* oldest() { return lru_.empty() ? nullptr : &lru_.front(); }

  // Visits entries from the least recently active while `visit` returns true.
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
  std::unordered_map<FlowKey, Iterator, FlowKeyHash> index_;
};

}  // namespace offpath
