// FlowTable<V>: the connections one worker owns, keyed by FlowKey, kept in order of last
// activity (least recently active first) so that idle timeouts and evictions take the
// oldest flows first. Not thread-safe by design: exactly one worker owns each table.
//
// Built for the per-packet path: the index is an open-addressing table of (hash, entry)
// pairs, so a lookup reads one slot array and compares the stored hash before touching an
// entry; entries live in blocks that are reused through a free list and never move, so
// neither a lookup nor an insert in the steady state allocates, and an Entry* stays valid
// until its entry is erased. Blocks are kept once made: the table's memory follows the
// highest number of flows it held at once (bounded by --max-flows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/time.hpp"
#include "flow/flow_key.hpp"

namespace offpath {

template <typename V, typename Hash = FlowKeyHash>
class FlowTable {
 public:
  struct Entry {
    FlowKey key;
    V value;
    Timestamp last_seen;
    Timestamp moved_at;  // when the entry last moved to the recent end of the order
  };
  // The order of activity is kept to this precision: an entry touched again within it is
  // not moved (relinking per packet costs more than the lookup itself). Timeouts are
  // whole seconds, so the walk from the oldest entry stays exact enough.
  static constexpr std::int64_t kOrderPrecisionMicros = 100'000;

  // The index starts small and doubles as flows arrive: a table sized for the flows
  // actually seen stays in the CPU caches.
  FlowTable() { slots_.resize(kMinSlots); }
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // The entry for `key`, marked as active at `now`, or nullptr.
  Entry* touch(const FlowKey& key, Timestamp now) {
    Node* node = recent_;
    if (node == nullptr || !(node->entry.key == key)) {
      node = find(key, Hash{}(key));
      if (node == nullptr) return nullptr;
      recent_ = node;  // packets come in bursts of one flow: the next lookup may skip the hash
    }
    Entry& e = node->entry;
    if (now.micros - e.moved_at.micros >= kOrderPrecisionMicros || now < e.moved_at) {
      unlink(node);
      link_newest(node);
      e.moved_at = now;
    }
    if (now > e.last_seen) e.last_seen = now;
    return &e;
  }

  // Adds `key`, which must not be in the table, as the most recently active entry.
  Entry& insert(const FlowKey& key, V value, Timestamp now) {
    Entry& e = add(key, now);
    e.value = std::move(value);
    return e;
  }
  // The same, with the value built in place (V = std::optional<T>: T is constructed
  // from `args` inside the entry, next to its key).
  template <typename... Args>
  Entry& emplace(const FlowKey& key, Timestamp now, Args&&... args) {
    Entry& e = add(key, now);
    e.value.emplace(std::forward<Args>(args)...);
    return e;
  }

  void erase(const FlowKey& key) {
    const std::size_t hash = Hash{}(key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Node* node = slots_[i].node;
      if (node == nullptr) return;
      if (slots_[i].hash == hash && node->entry.key == key) {
        remove_slot(i);
        if (recent_ == node) recent_ = nullptr;
        unlink(node);
        release(node);
        --size_;
        return;
      }
    }
  }

  // Least recently active entry, or nullptr when empty.
  Entry* oldest() { return oldest_ == nullptr ? nullptr : &oldest_->entry; }

  // Visits entries from the least recently active while `visit` returns true. The order
  // is exact to kOrderPrecisionMicros. `visit` may not insert or erase.
  template <typename F>
  void walk_oldest(F&& visit) {
    for (Node* node = oldest_; node != nullptr;) {
      Node* next = node->newer;
      if (!visit(node->entry)) break;
      node = next;
    }
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes one entry costs (memory budget): its node, and its share of the index, which
  // holds between 2 and 4 slots per entry.
  static constexpr std::size_t entry_bytes() { return sizeof(Node) + 4 * sizeof(Slot); }
  // Bytes the table holds whether its entries are in use or free: the node blocks and
  // the index. Grows only on insert; never shrinks.
  std::size_t capacity_bytes() const {
    return blocks_.size() * kBlockNodes * sizeof(Node) + slots_.capacity() * sizeof(Slot);
  }

 private:
  struct Node {
    Entry entry;
    std::size_t hash = 0;
    Node* older = nullptr;  // activity order; also the free-list link when unused
    Node* newer = nullptr;
  };
  struct Slot {
    std::size_t hash = 0;
    Node* node = nullptr;  // nullptr: empty slot
  };
  static constexpr std::size_t kMinSlots = 16;
  static constexpr std::size_t kBlockNodes = 256;

  Entry& add(const FlowKey& key, Timestamp now) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    Node* node = allocate();
    node->entry.key = key;
    node->entry.last_seen = now;
    node->entry.moved_at = now;
    node->hash = Hash{}(key);
    link_newest(node);
    place(node);
    ++size_;
    return node->entry;
  }

  Node* find(const FlowKey& key, std::size_t hash) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.node == nullptr) return nullptr;
      if (s.hash == hash && s.node->entry.key == key) return s.node;
    }
  }

  void place(Node* node) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = node->hash & mask;
    while (slots_[i].node != nullptr) i = (i + 1) & mask;
    slots_[i] = Slot{node->hash, node};
  }

  // Empties slot `i` and shifts later members of its probe run back, so that every
  // entry stays reachable from its home slot without tombstones.
  void remove_slot(std::size_t i) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask; slots_[j].node != nullptr; j = (j + 1) & mask) {
      const std::size_t home = slots_[j].hash & mask;
      // Slot j may move into the hole unless its home lies cyclically in (hole, j].
      const bool home_after_hole = ((j - home) & mask) < ((j - hole) & mask);
      if (!home_after_hole) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.node != nullptr) place(s.node);
    }
  }

  Node* allocate() {
    if (free_ == nullptr) {
      blocks_.push_back(std::make_unique<Node[]>(kBlockNodes));
      Node* block = blocks_.back().get();
      for (std::size_t k = 0; k < kBlockNodes; ++k) {
        block[k].older = free_;
        free_ = &block[k];
      }
    }
    Node* node = free_;
    free_ = node->older;
    node->older = nullptr;
    node->newer = nullptr;
    return node;
  }

  void release(Node* node) {
    // The value's resources go now (V need not be assignable); the node is kept for reuse.
    std::destroy_at(&node->entry.value);
    std::construct_at(&node->entry.value);
    node->older = free_;
    node->newer = nullptr;
    free_ = node;
  }

  void link_newest(Node* node) {
    node->older = newest_;
    node->newer = nullptr;
    if (newest_ != nullptr) newest_->newer = node;
    newest_ = node;
    if (oldest_ == nullptr) oldest_ = node;
  }

  void unlink(Node* node) {
    (node->older != nullptr ? node->older->newer : oldest_) = node->newer;
    (node->newer != nullptr ? node->newer->older : newest_) = node->older;
    node->older = nullptr;
    node->newer = nullptr;
  }

  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Node[]>> blocks_;
  Node* free_ = nullptr;
  Node* oldest_ = nullptr;
  Node* newest_ = nullptr;
  Node* recent_ = nullptr;  // the entry found last: skips the index for a burst of one flow
  std::size_t size_ = 0;
};

}  // namespace offpath
