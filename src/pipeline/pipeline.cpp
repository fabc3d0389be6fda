#include "pipeline/pipeline.hpp"

#include "pipeline/dispatcher.hpp"

namespace offpath {

namespace {


void add(WorkerCounters& into, const WorkerCounters& c) {
  into.segments += c.segments;
  into.segments_without_flow += c.segments_without_flow;
  into.flows_created += c.flows_created;
  into.flows_closed += c.flows_closed;
  into.flows_timed_out += c.flows_timed_out;
  into.flows_evicted += c.flows_evicted;
  into.flows_evicted_for_memory += c.flows_evicted_for_memory;
  into.flows_evicted_for_budget += c.flows_evicted_for_budget;
  into.flows_refused += c.flows_refused;
  into.refused_with_data += c.refused_with_data;
  into.memory += c.memory;
  into.flows_reused += c.flows_reused;
  into.connections += c.connections;
}

void add(OutputCounters& into, const OutputCounters& c) {
  for (std::size_t i = 0; i < into.by_outcome.size(); ++i) into.by_outcome[i] += c.by_outcome[i];
  for (std::size_t i = 0; i < into.by_error.size(); ++i) into.by_error[i] += c.by_error[i];
  into.exchanges += c.exchanges;
  into.failed += c.failed;
  into.published += c.published;
  into.not_published += c.not_published;
  into.filtered += c.filtered;
  into.sampled_out += c.sampled_out;
  for (std::size_t i = 0; i < into.latency_buckets.size(); ++i) {
    into.latency_buckets[i] += c.latency_buckets[i];
  }
  into.latency_sum_ms += c.latency_sum_ms;
  into.reloads += c.reloads;
  into.successes_not_encoded += c.successes_not_encoded;
  into.degraded += c.degraded;
  into.memory += c.memory;
}

void add(JoinCounters& into, const JoinCounters& c) {
  into.joined += c.joined;
  into.joined_upstream += c.joined_upstream;
  into.unjoined_client += c.unjoined_client;
  into.unjoined_upstream += c.unjoined_upstream;
  into.ambiguous += c.ambiguous;
  into.retries += c.retries;
  into.rewrites_learned += c.rewrites_learned;
  into.overflows += c.overflows;
  into.left_out += c.left_out;
  into.pending += c.pending;
  into.pending_bytes += c.pending_bytes;
}

void add(PipelineCounters& into, const JoinStageCounters& c) {
  into.join = true;
  add(into.join_counters, c.join);
  add(into.output, c.output);
}

void add(PipelineCounters& into, const LaneCounters& lane) {
  add(into.worker, lane.worker);
  add(into.output, lane.output);
  into.active_flows += lane.active_flows;
}

void add(PipelineCounters& into, const WorkerLane& lane) {
  add(into.worker, lane.worker().counters());
  add(into.output, lane.output().counters());
  into.active_flows += lane.worker().active_flows();
}

}  // namespace

Pipeline::Pipeline(const Config& config, const ClassifyOptions& classify, Sink& sink, bool live)
    : memory_(config.memory) {
  decoder_.set_inner_ports(config.live.ports);
  const unsigned workers = config.workers < 1 ? 1 : config.workers;
  auto setup = join_setup(config.gateway);
  const bool join = setup && setup->enabled();
  if (workers == 1) {
    if (!join) {
      inline_ = std::make_unique<WorkerLane>(config, classify, sink);
      return;
    }
    // The lane's sink buffer exists only once the lane does: the stage is made after it
    // and writes through the same buffer, which keeps the records' order deterministic.
    join_ = std::make_unique<JoinStage>(config, std::move(*setup), classify, sink, 1, false, live);
    inline_ = std::make_unique<WorkerLane>(config, classify, sink, join_.get(), 0);
    join_->use_sink(inline_->output_sink(sink));
    return;
  }
  if (join) {
    join_ = std::make_unique<JoinStage>(config, std::move(*setup), classify, sink, workers, true,
                                        live);
  }
  std::vector<SpscQueue<SegmentBatch>*> queues;
  for (unsigned i = 0; i < workers; ++i) {
    threads_.push_back(
        std::make_unique<WorkerThread>(config, classify, sink, live, join_.get(), i));
    queues.push_back(&threads_.back()->queue());
  }
  dispatcher_ = std::make_unique<Dispatcher>(std::move(queues), live);
  for (auto& t : threads_) t->start();
}

Pipeline::~Pipeline() {
  // A pipeline torn down without finish() (an error path) still stops its threads.
  if (!finished_) finish(Outcome::CaptureEnded);
}

void Pipeline::publish_capture_counters(bool final) {
  CaptureCounters c{dispatcher_ ? dispatcher_->queue_drops() : std::vector<std::uint64_t>{},
                    decoder_.encap_counts(), decoder_.fragment_counts(),
                    decoder_.fragments_pending()};
  if (final) {
    capture_published_.publish(c);
  } else {
    capture_published_.try_publish(c);
  }
  if (inline_) inline_->publish_counters(final);
}

void Pipeline::on_frame(const Frame& frame) {
  if (++frames_since_publish_ >= SnapshotSlot<CaptureCounters>::kPublishEvery) {
    frames_since_publish_ = 0;
    publish_capture_counters(false);
  }
  Segment seg;
  if (frame.ts > last_ts_) last_ts_ = frame.ts;
  const DecodeOutcome outcome = decoder_.decode(frame, seg);
  auto& live = decode_live_[static_cast<std::size_t>(outcome)];
  live.store(live.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (outcome != DecodeOutcome::Tcp) return;
  if (inline_) {
    inline_->worker().on_segment(seg);
    if (join_) join_->on_time(0, seg.ts);
  } else {
    dispatcher_->dispatch(seg);
  }
}

void Pipeline::on_idle(Timestamp now) {
  publish_capture_counters(false);
  if (inline_) {
    inline_->worker().on_time(now);
    if (join_) join_->on_time(0, now);
    inline_->flush_output();
  } else {
    dispatcher_->tick(now);
  }
}

void Pipeline::finish(Outcome why) {
  if (finished_) return;
  finished_ = true;
  if (inline_) {
    inline_->worker().finish_all(why, last_ts_);
    if (join_) join_->finish();
    inline_->flush_output();
    publish_capture_counters(true);
    return;
  }
  dispatcher_->finish(why, last_ts_);
  for (auto& t : threads_) t->join();
  if (join_) join_->finish();
  publish_capture_counters(true);
}

PipelineCounters Pipeline::live_counters() const {
  PipelineCounters c;
  CaptureCounters capture;
  capture_published_.read(capture);
  for (std::size_t i = 0; i < c.decode.size(); ++i) {
    c.decode[i] = decode_live_[i].load(std::memory_order_relaxed);
  }
  c.queue_drops = capture.queue_drops;
  c.encap = capture.encap;
  c.fragments = capture.fragments;
  c.fragments_pending = capture.fragments_pending;
  if (memory_ != nullptr) c.memory = memory_->status();
  LaneCounters lane;
  if (join_) {
    JoinStageCounters j;
    if (join_->live_counters(j)) add(c, j);
  }
  if (inline_) {
    if (inline_->published_counters(lane)) add(c, lane);
    return c;
  }
  c.workers = static_cast<unsigned>(threads_.size());
  for (const auto& t : threads_) {
    if (t->lane().published_counters(lane)) add(c, lane);
  }
  return c;
}

PipelineCounters Pipeline::checkpoint() {
  if (finished_) return counters();
  if (inline_) {
    inline_->flush_output();
    return counters();
  }
  PipelineCounters c = live_counters();
  c.queue_drops = dispatcher_->queue_drops();  // ours: exact
  return c;
}

PipelineCounters Pipeline::counters() const {
  PipelineCounters c;
  c.decode = decoder_.counts();
  c.encap = decoder_.encap_counts();
  c.fragments = decoder_.fragment_counts();
  c.fragments_pending = decoder_.fragments_pending();
  if (memory_ != nullptr) c.memory = memory_->status();
  if (join_) add(c, join_->counters());
  if (inline_) {
    add(c, *inline_);
    return c;
  }
  c.workers = static_cast<unsigned>(threads_.size());
  for (const auto& t : threads_) add(c, t->lane());
  c.queue_drops = dispatcher_->queue_drops();
  return c;
}

std::string format_summary(const PipelineCounters& p, const SourceStats& source,
                           const SinkStats& sink, bool live,
                           const std::vector<std::pair<std::string, std::uint64_t>>& backend) {
  std::string s;
  auto line = [&](const std::string& l) {
    s += "offpath: ";
    s += l;
    s += '\n';
  };
  auto num = [](std::uint64_t v) { return std::to_string(v); };

  std::uint64_t skipped = 0;
  std::string reasons;
  for (std::size_t i = 1; i < p.decode.size(); ++i) {
    if (p.decode[i] == 0) continue;
    skipped += p.decode[i];
    reasons += " " + std::string(to_string(static_cast<DecodeOutcome>(i))) + "=" + num(p.decode[i]);
  }
  line("packets=" + num(source.frames) + " bytes=" + num(source.bytes) +
       " tcp=" + num(p.decode[0]) + " skipped=" + num(skipped) + reasons);
  std::string encap;
  for (std::size_t i = 0; i < p.encap.size(); ++i) {
    if (p.encap[i] == 0) continue;
    encap += " " + std::string(to_string(static_cast<EncapKind>(i))) + "=" + num(p.encap[i]);
  }
  if (!encap.empty()) line("encap" + encap);
  const auto& fr = p.fragments;
  if (fr.fragments != 0 || fr.atomic != 0) {
    line("ip_fragments fragments=" + num(fr.fragments) + " reassembled=" + num(fr.reassembled) +
         " overlaps=" + num(fr.overlaps) + " timed_out=" + num(fr.timed_out) + " evicted=" +
         num(fr.evicted) + " dropped=" + num(fr.dropped) + " pending=" +
         num(p.fragments_pending) + " atomic=" + num(fr.atomic));
  }
  if (live || source.kernel_drops != 0 || source.truncated != 0 ||
      source.interface_drops != 0) {
    line("capture kernel_drops=" + num(source.kernel_drops) + " interface_drops=" +
         num(source.interface_drops) + " truncated=" + num(source.truncated));
  }
  if (!backend.empty()) {
    std::string l = "capture_backend";
    for (const auto& [reason, value] : backend) l += " " + reason + "=" + num(value);
    line(l);
  }
  const auto& w = p.worker;
  line("flows=" + num(w.flows_created) + " closed=" + num(w.flows_closed) + " timed_out=" +
       num(w.flows_timed_out) + " evicted=" + num(w.flows_evicted) + " evicted_for_memory=" +
       num(w.flows_evicted_for_memory) + " reused=" +
       num(w.flows_reused) + " segments_without_flow=" + num(w.segments_without_flow));
  const auto& o = p.output;
  std::string outcomes;
  for (std::size_t i = 0; i < o.by_outcome.size(); ++i) {
    if (o.by_outcome[i] == 0) continue;
    outcomes += " " + std::string(to_string(static_cast<Outcome>(i))) + "=" + num(o.by_outcome[i]);
  }
  line("exchanges=" + num(o.exchanges) + " failed=" + num(o.failed) + " published=" +
       num(o.published) + " filtered=" + num(o.filtered) +
       (o.sampled_out != 0 ? " sampled_out=" + num(o.sampled_out) : std::string()) + outcomes);
  const auto& r = w.connections.reassembly;
  const auto& h = w.connections.parser;
  line("reassembly gaps=" + num(r.gaps) + " gap_bytes=" + num(r.gap_bytes) +
       " ack_gaps=" + num(w.connections.ack_gaps) + " duplicate_bytes=" + num(r.duplicate_bytes) +
       " overlap_conflicts=" + num(r.overlap_conflicts) + " held_overflows=" +
       num(r.held_overflows) + " rst_ignored=" + num(w.connections.rst_ignored));
  line("http messages=" + num(h.messages) + " parse_errors=" + num(h.parse_errors) +
       " orphan_responses=" + num(w.connections.orphan_responses) + " late_responses=" +
       num(w.connections.late_responses) + " resyncs=" + num(h.resyncs) +
       " skipped_bytes=" + num(h.sync_skipped_bytes) + " tunnel_bytes=" + num(h.tunnel_bytes) +
       " unparsed_bytes=" + num(h.failed_bytes) + " chunk_ext_bytes=" + num(h.chunk_ext_bytes) +
       " not_http_connections=" + num(w.connections.not_http_connections) +
       " not_http_bytes=" + num(w.connections.not_http_bytes));
  const auto& h2 = w.connections.http2;
  line("http2 connections=" + num(h2.connections) + " upgrades=" + num(h2.upgrades) +
       " frames=" + num(h2.frames) + " streams=" +
       num(h2.streams) + " resets=" + num(h2.resets) + " goaways=" + num(h2.goaways) +
       " hpack_errors=" + num(h2.hpack_errors) + " streams_dropped=" + num(h2.streams_dropped) +
       " skipped_bytes=" + num(h2.skipped_bytes) + " picked_up=" + num(h2.picked_up) +
       " resyncs=" + num(h2.resyncs));
  if (p.join) {
    const auto& j = p.join_counters;
    line("join joined=" + num(j.joined) + " joined_upstream=" + num(j.joined_upstream) +
         " unjoined_client=" + num(j.unjoined_client) + " unjoined_upstream=" +
         num(j.unjoined_upstream) + " ambiguous=" + num(j.ambiguous) + " retries=" +
         num(j.retries) + " rewrites_learned=" + num(j.rewrites_learned) + " overflows=" +
         num(j.overflows) + " left_out=" + num(j.left_out) + " window=" + num(j.pending) +
         " window_bytes=" + num(j.pending_bytes));
  }
  if (p.workers > 1) {
    std::uint64_t drops = 0;
    std::string per_worker;
    for (std::uint64_t d : p.queue_drops) {
      drops += d;
      per_worker += (per_worker.empty() ? "" : ",") + num(d);
    }
    line("workers=" + num(p.workers) + " queue_drops=" + num(drops) +
         (drops != 0 ? " per_worker=" + per_worker : std::string()));
  }
  if (p.memory.limit != 0) {
    const MemoryPools pools = p.memory_pools();
    std::string l = "memory limit=" + num(p.memory.limit) + " used=" + num(p.memory.used) +
                    " peak=" + num(p.memory.peak) + " level=" + num(static_cast<std::uint64_t>(p.memory.level)) +
                    " max_level=" + num(static_cast<std::uint64_t>(p.memory.max_level)) +
                    " level_changes=" + num(p.memory.level_changes);
    for (std::size_t i = 0; i < kMemoryPools; ++i) {
      l += " " + std::string(to_string(static_cast<MemoryPool>(i))) + "_bytes=" +
           std::to_string(pools.bytes[i]);
    }
    line(l);
    line("shedding bodies_not_kept=" + num(h.bodies_not_kept) + " successes_not_encoded=" +
         num(o.successes_not_encoded) + " degraded_records=" + num(o.degraded) +
         " flows_evicted=" + num(w.flows_evicted_for_budget) + " flows_refused=" +
         num(w.flows_refused) + " refused_with_data=" + num(w.refused_with_data));
  }
  line("output written=" + num(sink.written) + " delivered=" + num(sink.delivered) +
       " failed=" + num(sink.failed) + " spooled=" + num(sink.spooled) + " dropped=" +
       num(sink.dropped) +
       (sink.coverage_written != 0
            ? " coverage_records=" + num(sink.coverage_written) + " coverage_delivered=" +
                  num(sink.coverage_delivered) + " coverage_failed=" + num(sink.coverage_failed)
            : std::string()));
  return s;
}

}  // namespace offpath
