#include "pipeline/pipeline.hpp"

namespace offpath {

Pipeline::Pipeline(const Config& config, const ClassifyOptions& classify, Sink& sink)
    : output_(config, classify, sink), worker_(config, output_) {}

void Pipeline::on_frame(const Frame& frame) {
  Segment seg;
  if (frame.ts > last_ts_) last_ts_ = frame.ts;
  if (decoder_.decode(frame, seg) != DecodeOutcome::Tcp) return;
  worker_.on_segment(seg);
}

void Pipeline::on_idle(Timestamp now) { worker_.on_time(now); }

void Pipeline::finish(Outcome why) { worker_.finish_all(why, last_ts_); }

PipelineCounters Pipeline::counters() const {
  PipelineCounters c;
  c.decode = decoder_.counts();
  c.worker = worker_.counters();
  c.output = output_.counters();
  c.active_flows = worker_.active_flows();
  return c;
}

std::string format_summary(const PipelineCounters& p, const SourceStats& source,
                           const SinkStats& sink) {
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
  if (source.kernel_drops != 0 || source.truncated != 0 || source.interface_drops != 0) {
    line("capture kernel_drops=" + num(source.kernel_drops) + " interface_drops=" +
         num(source.interface_drops) + " truncated=" + num(source.truncated));
  }
  const auto& w = p.worker;
  line("flows=" + num(w.flows_created) + " closed=" + num(w.flows_closed) + " timed_out=" +
       num(w.flows_timed_out) + " evicted=" + num(w.flows_evicted) + " reused=" +
       num(w.flows_reused) + " segments_without_flow=" + num(w.segments_without_flow));
  const auto& o = p.output;
  std::string outcomes;
  for (std::size_t i = 0; i < o.by_outcome.size(); ++i) {
    if (o.by_outcome[i] == 0) continue;
    outcomes += " " + std::string(to_string(static_cast<Outcome>(i))) + "=" + num(o.by_outcome[i]);
  }
  line("exchanges=" + num(o.exchanges) + " failed=" + num(o.failed) + " published=" +
       num(o.published) + outcomes);
  const auto& r = w.connections.reassembly;
  const auto& h = w.connections.parser;
  line("reassembly gaps=" + num(r.gaps) + " gap_bytes=" + num(r.gap_bytes) +
       " ack_gaps=" + num(w.connections.ack_gaps) + " duplicate_bytes=" + num(r.duplicate_bytes) +
       " overlap_conflicts=" + num(r.overlap_conflicts) + " held_overflows=" +
       num(r.held_overflows));
  line("http messages=" + num(h.messages) + " parse_errors=" + num(h.parse_errors) +
       " orphan_responses=" + num(w.connections.orphan_responses) + " late_responses=" +
       num(w.connections.late_responses) + " resyncs=" + num(h.resyncs) +
       " skipped_bytes=" + num(h.sync_skipped_bytes) + " tunnel_bytes=" + num(h.tunnel_bytes) +
       " unparsed_bytes=" + num(h.failed_bytes));
  line("output written=" + num(sink.written) + " delivered=" + num(sink.delivered) +
       " failed=" + num(sink.failed) + " spooled=" + num(sink.spooled) + " dropped=" +
       num(sink.dropped));
  return s;
}

}  // namespace offpath
