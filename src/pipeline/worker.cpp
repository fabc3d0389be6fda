#include "pipeline/worker.hpp"

#include <algorithm>
#include <vector>

namespace offpath {
namespace {

constexpr std::int64_t kSweepIntervalMicros = 1'000'000;
// A finished connection is remembered this long, so that its late retransmissions and
// final ACKs are not taken for a new connection picked up mid-stream.
constexpr std::int64_t kFinishedLingerMicros = 10'000'000;


}  // namespace

Worker::Worker(const Config& config, ExchangeHandler& output)
    : config_(config),
      output_(output) {
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
      entry->value->finish(Outcome::ConnectionClosed, seg.ts);
      ++counters_.flows_closed;
    }
    ++counters_.flows_reused;
    retire(*entry);
    table_.erase(key);
    entry = nullptr;
  }
  if (entry == nullptr) {
    const bool starts_flow = seg.has(tcp_flags::kSyn) || !seg.payload.empty();
    if (!starts_flow) {
      ++counters_.segments_without_flow;
    } else {
      if (table_.size() >= config_.reassembly.max_flows) evict_oldest(seg.ts);
      entry = &table_.emplace(key, seg.ts, key, seg.ts, limits_, config_.reassembly, output_);
      ++counters_.flows_created;
    }
  }
  if (entry != nullptr) {
    bool was_finished = entry->value->finished();
    const std::uint64_t held_before = entry->value->held_bytes();
    entry->value->on_segment(sender, seg);
    held_total_ = held_total_ - held_before + entry->value->held_bytes();
    if (!was_finished && entry->value->finished()) ++counters_.flows_closed;
    // Out-of-order bytes held by all flows together stay under --max-buffered-bytes:
    // the least recently active flows go first.
    while (held_total_ > config_.reassembly.max_buffered_bytes && !table_.empty()) {
      ++counters_.flows_evicted_for_memory;
      evict_oldest(seg.ts);
    }
  }
  if (now_.micros - last_sweep_.micros >= kSweepIntervalMicros) sweep(now_);
}

void Worker::on_time(Timestamp now) {
  if (now > now_) now_ = now;
  if (now_.micros - last_sweep_.micros >= kSweepIntervalMicros) sweep(now_);
}

void Worker::evict_oldest(Timestamp now) {
  Table::Entry* oldest = table_.oldest();
  if (oldest == nullptr) return;
  held_total_ -= oldest->value->held_bytes();
  if (!oldest->value->finished()) {
    oldest->value->finish(Outcome::Evicted, now);
    ++counters_.flows_evicted;
  }
  retire(*oldest);
  table_.erase(oldest->key);
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
      c.finish(Outcome::Timeout, now);
      ++counters_.flows_timed_out;
      done.push_back(e.key);
    } else if (quiet >= response && c.has_open_requests()) {
      c.expire_requests(Timestamp{now.micros - response});
    }
    return true;
  });
  for (const auto& key : done) {
    if (Table::Entry* e = table_.touch(key, now); e != nullptr) {
      retire(*e);
      table_.erase(key);
    }
  }
}

void Worker::finish_all(Outcome why, Timestamp now) {
  if (now < now_) now = now_;
  if (connect_failures_) connect_failures_->finish(now);
  table_.walk_oldest([&](Table::Entry& e) {
    if (!e.value->finished()) e.value->finish(why, now);
    retire(e);
    return true;
  });
  while (Table::Entry* e = table_.oldest()) table_.erase(e->key);
}

WorkerCounters Worker::counters() const { return counters_; }

}  // namespace offpath
