// Coverage ledger: records of schema offpath/coverage/1, written into the same output as
// the exchanges, that let a consumer prove it saw everything (docs/record-format.md).
// Each one holds one interval's counts: packets, capture losses, gap bytes, exchanges by
// outcome, records published / filtered / sampled out / shed, and what the output did
// with them. The counts are deltas of the monotonic counters that the end-of-run summary
// prints, so the records of a run add up to the summary.
//
// Intervals run on packet time, like every timeout in offpath: a record is due when a
// frame (or, on an idle live link, the capture's idle tick with the wall time) reaches the
// next multiple of the interval since the epoch. The last record, `final`, comes at the
// end, after the pipeline finished and the sink was flushed.
//
// Threads: CoverageLedger is the FrameHandler the source drives, on the capture thread,
// and passes every frame on to the Pipeline; finish() runs on the same thread after the
// source returned. The free functions are pure; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "capture/source.hpp"
#include "exchange/exchange.hpp"
#include "output/sink.hpp"
#include "pipeline/pipeline.hpp"

namespace offpath {

// The counts a coverage record carries. As totals since start (coverage_totals) every
// field is monotonic except `spooled` and `in_flight` (records waiting in the spool and
// in the Kafka producer: levels) and the two load gauges; as an interval
// (interval_counts), the monotonic ones are differences, `spooled` and `in_flight` are
// the change of their level (negative when the spool drained), the gauges their value
// at the end.
struct CoverageCounts {
  // Capture.
  std::uint64_t packets = 0;  // frames handed to the decoder
  std::uint64_t kernel_drops = 0;
  std::uint64_t interface_drops = 0;
  std::uint64_t ringbuf_lost = 0;  // eBPF ring buffer losses (also in kernel_drops)
  std::uint64_t truncated = 0;
  std::uint64_t queue_drops = 0;  // segments dropped at full worker queues
  // Reassembly.
  std::uint64_t gaps = 0;
  std::uint64_t gap_bytes = 0;
  // Exchanges.
  std::uint64_t exchanges = 0;
  std::uint64_t failed = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(Outcome::kCount)> by_outcome{};
  // Exchange records.
  std::uint64_t published = 0;  // encoded and handed to the output
  std::uint64_t filtered = 0;
  std::uint64_t not_published = 0;  // successes left out by --publish failed
  std::uint64_t sampled_out = 0;
  std::uint64_t shed = 0;
  // The output (sink), exchange messages only.
  std::uint64_t written = 0;  // taken by the sink: in a file, the lines before the record
  std::uint64_t delivered = 0;
  std::uint64_t sink_failed = 0;
  std::uint64_t dropped = 0;
  std::int64_t spooled = 0;
  std::int64_t in_flight = 0;
  // Load.
  std::uint64_t shedding_level = 0;
  std::uint64_t memory_bytes = 0;

  bool operator==(const CoverageCounts&) const = default;
};

// The totals since start, from the counters the summary prints.
CoverageCounts coverage_totals(const PipelineCounters& pipeline, const SourceStats& source,
                               const std::vector<std::pair<std::string, std::uint64_t>>& backend,
                               const SinkStats& sink);

// One interval: `now` minus `before`, gauges as in `now`.
CoverageCounts interval_counts(const CoverageCounts& now, const CoverageCounts& before);

// The start of the interval of length `interval_us` (> 0) that holds `t`: the largest
// multiple of interval_us since the epoch not after t.
Timestamp interval_floor(Timestamp t, std::int64_t interval_us);

struct CoverageRecord {
  std::uint64_t sequence = 0;  // 0, 1, 2, ... within a run: a gap shows a lost record
  bool final = false;          // the last one of the run
  Timestamp start;             // packet time, inclusive
  Timestamp end;               // packet time, exclusive (final: the last time seen)
  CoverageCounts counts;       // interval_counts()
};

// Appends the record as one JSON object (docs/schema/offpath-coverage-1.schema.json).
void encode_coverage_record(const CoverageRecord& record, std::string& out);

class CoverageLedger final : public FrameHandler {
 public:
  // interval_s > 0: a record every interval_s seconds of packet time, and the final one;
  // 0: the final one only.
  CoverageLedger(Pipeline& pipeline, const Source& source, Sink& sink, double interval_s);

  void on_frame(const Frame& frame) override;
  void on_idle(Timestamp now) override;
  // The final record. Call after pipeline.finish() and the sink's flush, so that the
  // records add up to the summary; the caller flushes again to deliver it.
  void finish();
  std::uint64_t records() const { return sequence_; }

 private:
  void advance(Timestamp now);
  void emit(Timestamp end, bool final);

  Pipeline& pipeline_;
  const Source& source_;
  Sink& sink_;
  std::int64_t interval_us_;
  bool started_ = false;
  Timestamp start_;  // of the current interval
  Timestamp next_;   // when the current interval ends
  Timestamp last_;   // the latest time seen
  std::uint64_t sequence_ = 0;
  CoverageCounts previous_;  // totals at the end of the previous record
};

}  // namespace offpath
