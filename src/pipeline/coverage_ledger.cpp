#include "pipeline/coverage_ledger.hpp"

#include <cmath>
#include <string_view>

#include "output/json_writer.hpp"

namespace offpath {

CoverageCounts coverage_totals(const PipelineCounters& p, const SourceStats& source,
                               const std::vector<std::pair<std::string, std::uint64_t>>& backend,
                               const SinkStats& sink) {
  CoverageCounts c;
  for (std::uint64_t n : p.decode) c.packets += n;
  c.kernel_drops = source.kernel_drops;
  c.interface_drops = source.interface_drops;
  for (const auto& [reason, value] : backend) {
    if (std::string_view(reason).starts_with("lost_")) c.ringbuf_lost += value;
  }
  c.truncated = source.truncated;
  for (std::uint64_t d : p.queue_drops) c.queue_drops += d;
  c.gaps = p.worker.connections.reassembly.gaps;
  c.gap_bytes = p.worker.connections.reassembly.gap_bytes;
  const OutputCounters& o = p.output;
  c.exchanges = o.exchanges;
  c.failed = o.failed;
  c.by_outcome = o.by_outcome;
  c.published = o.published;
  c.filtered = o.filtered;
  c.not_published = o.not_published;
  c.sampled_out = o.sampled_out;
  c.shed = o.successes_not_encoded;  // shedding level 2: counted, not built
  c.written = sink.written;
  c.delivered = sink.delivered;
  c.sink_failed = sink.failed;
  c.dropped = sink.dropped;
  c.spooled = static_cast<std::int64_t>(sink.spooled);
  c.in_flight = static_cast<std::int64_t>(sink.queue_depth);
  c.shedding_level = static_cast<std::uint64_t>(p.memory.level);
  c.memory_bytes = p.memory.used;
  return c;
}

CoverageCounts interval_counts(const CoverageCounts& now, const CoverageCounts& before) {
  CoverageCounts d;
  d.packets = now.packets - before.packets;
  d.kernel_drops = now.kernel_drops - before.kernel_drops;
  d.interface_drops = now.interface_drops - before.interface_drops;
  d.ringbuf_lost = now.ringbuf_lost - before.ringbuf_lost;
  d.truncated = now.truncated - before.truncated;
  d.queue_drops = now.queue_drops - before.queue_drops;
  d.gaps = now.gaps - before.gaps;
  d.gap_bytes = now.gap_bytes - before.gap_bytes;
  d.exchanges = now.exchanges - before.exchanges;
  d.failed = now.failed - before.failed;
  for (std::size_t i = 0; i < d.by_outcome.size(); ++i) {
    d.by_outcome[i] = now.by_outcome[i] - before.by_outcome[i];
  }
  d.published = now.published - before.published;
  d.filtered = now.filtered - before.filtered;
  d.not_published = now.not_published - before.not_published;
  d.sampled_out = now.sampled_out - before.sampled_out;
  d.shed = now.shed - before.shed;
  d.written = now.written - before.written;
  d.delivered = now.delivered - before.delivered;
  d.sink_failed = now.sink_failed - before.sink_failed;
  d.dropped = now.dropped - before.dropped;
  d.spooled = now.spooled - before.spooled;
  d.in_flight = now.in_flight - before.in_flight;
  d.shedding_level = now.shedding_level;
  d.memory_bytes = now.memory_bytes;
  return d;
}

Timestamp interval_floor(Timestamp t, std::int64_t interval_us) {
  std::int64_t q = t.micros / interval_us;
  if (t.micros % interval_us < 0) --q;  // round towards minus infinity
  return Timestamp{q * interval_us};
}

void encode_coverage_record(const CoverageRecord& r, std::string& out) {
  const CoverageCounts& c = r.counts;
  std::string scratch;
  JsonWriter w(out);
  w.begin_object();
  w.field("schema", kCoverageSchema);
  w.field("sequence", r.sequence);
  w.field("final", r.final);
  w.field("clock", "packet");
  write_packet_time(w, scratch, "start", "start_iso", r.start);
  write_packet_time(w, scratch, "end", "end_iso", r.end);
  w.key("capture");
  w.begin_object();
  w.field("packets", c.packets);
  w.field("kernel_drops", c.kernel_drops);
  w.field("interface_drops", c.interface_drops);
  w.field("ringbuf_lost", c.ringbuf_lost);
  w.field("truncated", c.truncated);
  w.field("queue_drops", c.queue_drops);
  w.end_object();
  w.key("reassembly");
  w.begin_object();
  w.field("gaps", c.gaps);
  w.field("gap_bytes", c.gap_bytes);
  w.end_object();
  w.key("exchanges");
  w.begin_object();
  w.field("total", c.exchanges);
  w.field("failed", c.failed);
  w.key("by_outcome");
  w.begin_object();
  for (std::size_t i = 0; i < c.by_outcome.size(); ++i) {
    w.field(to_string(static_cast<Outcome>(i)), c.by_outcome[i]);
  }
  w.end_object();
  w.end_object();
  w.key("records");
  w.begin_object();
  w.field("published", c.published);
  w.field("filtered", c.filtered);
  w.field("not_published", c.not_published);
  w.field("sampled_out", c.sampled_out);
  w.field("shed", c.shed);
  w.end_object();
  w.key("output");
  w.begin_object();
  w.field("written", c.written);
  w.field("delivered", c.delivered);
  w.field("failed", c.sink_failed);
  w.field("spooled", c.spooled);
  w.field("dropped", c.dropped);
  w.field("in_flight", c.in_flight);
  w.end_object();
  w.key("load");
  w.begin_object();
  w.field("shedding_level", c.shedding_level);
  w.field("memory_bytes", c.memory_bytes);
  w.end_object();
  w.end_object();
}

CoverageLedger::CoverageLedger(Pipeline& pipeline, const Source& source, Sink& sink,
                               double interval_s)
    : pipeline_(pipeline),
      source_(source),
      sink_(sink),
      interval_us_(interval_s > 0 ? std::llround(interval_s * 1e6) : 0) {
  if (interval_s > 0 && interval_us_ < 1) interval_us_ = 1;
}

void CoverageLedger::on_frame(const Frame& frame) {
  advance(frame.ts);
  pipeline_.on_frame(frame);
}

void CoverageLedger::on_idle(Timestamp now) {
  advance(now);
  pipeline_.on_idle(now);
}

void CoverageLedger::advance(Timestamp now) {
  if (!started_) {
    started_ = true;
    start_ = now;
    last_ = now;
    if (interval_us_ > 0) next_ = Timestamp{interval_floor(now, interval_us_).micros + interval_us_};
    return;
  }
  if (now > last_) last_ = now;
  if (interval_us_ == 0 || now < next_) return;
  // One record up to the last boundary reached: a quiet stretch of several intervals
  // (no frame, no idle tick) gives one record that spans them.
  const Timestamp end = interval_floor(now, interval_us_);
  emit(end, false);
  start_ = end;
  next_ = Timestamp{end.micros + interval_us_};
}

void CoverageLedger::finish() { emit(last_ > start_ ? last_ : start_, true); }

void CoverageLedger::emit(Timestamp end, bool final) {
  const PipelineCounters pipeline = pipeline_.checkpoint();
  const SourceStats source = source_.stats();
  const auto backend = source_.backend_counters();
  CoverageRecord record;
  record.sequence = sequence_;
  record.final = final;
  record.start = start_;
  record.end = end;
  sink_.write_coverage(end, [&](const SinkStats& at_write, std::string& payload) {
    const CoverageCounts totals = coverage_totals(pipeline, source, backend, at_write);
    record.counts = interval_counts(totals, previous_);
    previous_ = totals;
    encode_coverage_record(record, payload);
  });
  ++sequence_;
}

}  // namespace offpath
