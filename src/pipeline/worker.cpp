#include "pipeline/worker.hpp"

#include <algorithm>
#include <vector>

namespace offpath {
namespace {

constexpr std::int64_t kSweepIntervalMicros = 1'000'000;
// A finished connection is remembered this long, so that its late retransmissions and
// final ACKs are not taken for a new connection picked up mid-stream.
constexpr std::int64_t kFinishedLingerMicros = 10'000'000;
// Shedding level 3: flows evicted per segment while the level lasts.
constexpr int kEvictPerSegment = 4;
// The flow table keeps its blocks once made: it may take at most this share of the
// memory budget, so that what it keeps never holds a shedding level by itself.
constexpr std::uint64_t kFlowTableBudgetPercent = 45;

// --max-flows, or fewer when the flow tables of all workers would not fit in their share
// of the budget.
std::uint64_t flows_within_budget(const Config& config) {
  if (config.memory == nullptr) return config.reassembly.max_flows;
  const std::uint64_t workers = config.workers < 1 ? 1 : config.workers;
  const std::uint64_t share = config.memory->limit() / 100 * kFlowTableBudgetPercent / workers;
  const std::uint64_t fit = share / FlowTable<std::optional<Connection>>::entry_bytes();
  return std::max<std::uint64_t>(1, std::min(config.reassembly.max_flows, fit));
}

}  // namespace

Worker::Worker(const Config& config, ExchangeHandler& output)
    : config_(config),
      output_(output),
      memory_(config.memory),
      max_flows_(flows_within_budget(config)) {
  limits_.budget = config.memory;
  limits_.max_body = config.record.max_body;
  limits_.max_header_bytes = config.record.max_header_bytes;
  limits_.max_uri_bytes = config.record.max_uri_bytes;
  if (config.filter.connect_failures) {
    connect_failures_ = std::make_unique<ConnectFailureDetector>(
        static_cast<std::int64_t>(config.reassembly.response_timeout_s) * 1'000'000, output_);
  }
}

void Worker::retire(Table::Entry& entry) {
  counters_.connections += entry.value->counters();
}

void Worker::account(const ConnectionMemory& before, const ConnectionMemory& after) {
  memory_.change(MemoryPool::Http, before.http, after.http);
  memory_.change(MemoryPool::Exchanges, before.exchanges, after.exchanges);
  memory_.change(MemoryPool::OutOfOrder, before.out_of_order, after.out_of_order);
}

void Worker::reaccount(Connection& c) {
  const ConnectionMemory now = c.memory();
  account(c.accounted(), now);
  c.accounted() = now;
}

void Worker::drop(Table::Entry& entry) {
  account(entry.value->accounted(), ConnectionMemory{});
  table_.erase(entry.key);  // the entry stays in the table's blocks, for reuse
}

void Worker::remove(Table::Entry& entry) {
  retire(entry);
  drop(entry);
}

void Worker::on_segment(const Segment& seg) {
  ++counters_.segments;
  if (connect_failures_) connect_failures_->on_segment(seg);
  if (seg.ts > now_) now_ = seg.ts;
  Side sender;
  FlowKey key = FlowKey::of(seg, sender);
  Table::Entry* entry = table_.touch(key, seg.ts);
  if (entry != nullptr && entry->value->is_new_handshake(sender, seg)) {
    held_total_ -= entry->value->held_bytes();
    if (!entry->value->finished()) {
      Connection& c = *entry->value;
      tracked(c, [&] { c.finish(Outcome::ConnectionClosed, seg.ts); });
      ++counters_.flows_closed;
    }
    ++counters_.flows_reused;
    remove(*entry);
    entry = nullptr;
  }
  if (entry == nullptr) {
    const bool starts_flow = seg.has(tcp_flags::kSyn) || !seg.payload.empty();
    if (!starts_flow) {
      ++counters_.segments_without_flow;
    } else if (memory_.level() >= kShedRefuse) {
      // Shedding: no new state at all while the budget is nearly spent.
      ++counters_.flows_refused;
      if (!seg.payload.empty()) ++counters_.refused_with_data;
    } else {
      if (table_.size() >= max_flows_) evict_oldest(seg.ts);
      entry = &table_.emplace(key, seg.ts, key, seg.ts, limits_, config_.reassembly, output_);
      const auto table_bytes = static_cast<std::int64_t>(table_.capacity_bytes());
      memory_.change(MemoryPool::Flows, table_bytes_, table_bytes);
      table_bytes_ = table_bytes;
      ++counters_.flows_created;
    }
  }
  if (entry != nullptr) {
    Connection& c = *entry->value;
    const bool was_finished = c.finished();
    const std::uint64_t held_before = c.held_bytes();
    c.on_segment(sender, seg);
    // Memory changes with payload and with the end of a connection; what a bare ACK
    // changes (a gap it declares) is accounted with the next segment that carries data.
    if (!seg.payload.empty() || c.finished()) reaccount(c);
    held_total_ = held_total_ - held_before + c.held_bytes();
    if (!was_finished && c.finished()) ++counters_.flows_closed;
    // Out-of-order bytes held by all flows together stay under --max-buffered-bytes:
    // the least recently active flows go first.
    while (held_total_ > config_.reassembly.max_buffered_bytes && !table_.empty()) {
      if (evict_oldest(seg.ts)) ++counters_.flows_evicted_for_memory;
    }
    // Shedding level 3 and up: a few of the least recently active flows go with each
    // segment; at the limit itself, as many as it takes.
    if (memory_.level() >= kShedEvict) {
      for (int k = 0; k < kEvictPerSegment && !table_.empty(); ++k) {
        if (evict_oldest(seg.ts)) ++counters_.flows_evicted_for_budget;
      }
      while (memory_.over_limit() && !table_.empty()) {
        if (evict_oldest(seg.ts)) ++counters_.flows_evicted_for_budget;
      }
    }
  }
  if (now_.micros - last_sweep_.micros >= kSweepIntervalMicros) sweep(now_);
}

void Worker::on_time(Timestamp now) {
  if (now > now_) now_ = now;
  if (now_.micros - last_sweep_.micros >= kSweepIntervalMicros) sweep(now_);
}

bool Worker::evict_oldest(Timestamp now) {
  Table::Entry* oldest = table_.oldest();
  if (oldest == nullptr) return false;
  Connection& c = *oldest->value;
  held_total_ -= c.held_bytes();
  const bool open = !c.finished();
  if (open) {
    tracked(c, [&] { c.finish(Outcome::Evicted, now); });
    ++counters_.flows_evicted;
  }
  remove(*oldest);
  return open;
}

void Worker::sweep(Timestamp now) {
  last_sweep_ = now;
  if (connect_failures_) connect_failures_->on_time(now);
  const std::int64_t idle = static_cast<std::int64_t>(config_.reassembly.flow_idle_timeout_s) * 1'000'000;
  const std::int64_t response =
      static_cast<std::int64_t>(config_.reassembly.response_timeout_s) * 1'000'000;
  const std::int64_t first_check = std::min<std::int64_t>({idle, response, kFinishedLingerMicros});
  std::vector<FlowKey> done;
  table_.walk_oldest([&](Table::Entry& e) {
    const std::int64_t quiet = now.micros - e.last_seen.micros;
    if (quiet < first_check) return false;  // everything after is more recent
    Connection& c = *e.value;
    if (c.finished()) {
      if (quiet >= kFinishedLingerMicros) done.push_back(e.key);
    } else if (quiet >= idle) {
      held_total_ -= c.held_bytes();
      tracked(c, [&] { c.finish(Outcome::Timeout, now); });
      ++counters_.flows_timed_out;
      done.push_back(e.key);
    } else if (quiet >= response && c.has_open_requests()) {
      tracked(c, [&] { c.expire_requests(Timestamp{now.micros - response}); });
    }
    return true;
  });
  for (const auto& key : done) {
    if (Table::Entry* e = table_.touch(key, now); e != nullptr) remove(*e);
  }
}

void Worker::finish_all(Outcome why, Timestamp now) {
  if (now < now_) now = now_;
  if (connect_failures_) connect_failures_->finish(now);
  table_.walk_oldest([&](Table::Entry& e) {
    Connection& c = *e.value;
    if (!c.finished()) tracked(c, [&] { c.finish(why, now); });
    retire(e);
    return true;
  });
  while (Table::Entry* e = table_.oldest()) drop(*e);
  held_total_ = 0;
}

WorkerCounters Worker::counters() const {
  WorkerCounters c = counters_;
  c.memory = memory_.pools();
  return c;
}

}  // namespace offpath
