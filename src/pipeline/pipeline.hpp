// Pipeline: what happens to a frame after capture. Decodes it on the capture thread and
// hands the segment to the worker that owns its flow.
//
// With one worker (--workers 1) the worker runs inline on the capture thread: no thread,
// no queue, exchanges in a deterministic order (replays and tests rely on it). With N > 1
// workers, a Dispatcher shards segments by the symmetric flow hash into one SPSC queue per
// WorkerThread; each worker owns its flows and its output buffer, so nothing on the
// per-packet path takes a lock. Exchanges of different connections then come out in no
// particular order (those of one connection stay in order).
//
// Threads: every method runs on the capture thread, except live_counters(). finish()
// drains the queues, ends all flows and joins the workers; counters() is complete only
// after finish(). live_counters() is for the metrics and stats threads while the pipeline
// runs: it sums the copies that the capture thread and each worker publish now and then
// (metrics/snapshot.hpp), so it lags by at most a batch and takes no lock that the
// per-packet path waits for.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "config/config.hpp"
#include "decode/decoder.hpp"
#include "exchange/classify.hpp"
#include "metrics/snapshot.hpp"
#include "output/sink.hpp"
#include "pipeline/exchange_output.hpp"
#include "pipeline/join_stage.hpp"
#include "pipeline/worker.hpp"
#include "pipeline/worker_thread.hpp"

namespace offpath {

struct PipelineCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeOutcome::kCount)> decode{};
  WorkerCounters worker;
  OutputCounters output;
  std::size_t active_flows = 0;
  unsigned workers = 1;
  std::vector<std::uint64_t> queue_drops;  // per worker; live sources only
  // Load shedding under the memory budget, which feeds these (0 until it does); the
  // coverage ledger reports them.
  std::uint64_t records_shed = 0;    // exchange records not published to save memory
  std::uint64_t shedding_level = 0;  // current level, 0 = none (a gauge)
  std::uint64_t memory_bytes = 0;    // memory in use by the pipeline (a gauge)
  bool join = false;                 // gateway addresses known: the join stage ran
  JoinCounters join_counters;        // its counters (its exchanges are in `output`)
};

class Dispatcher;

class Pipeline final : public FrameHandler {
 public:
  // `live`: the source is a live capture (a full worker queue drops the segment instead
  // of waiting for the worker). config.workers (at least 1) sets the worker count.
  // config.gateway.addresses (checked by join_setup()) turn the join stage on.
  Pipeline(const Config& config, const ClassifyOptions& classify, Sink& sink, bool live);
  ~Pipeline() override;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void on_frame(const Frame& frame) override;
  void on_idle(Timestamp now) override;
  // Ends every open flow (end of capture or shutdown) so that open requests are emitted.
  void finish(Outcome why);
  PipelineCounters counters() const;
  PipelineCounters live_counters() const;
  // Capture thread, for the coverage ledger: first hands the inline worker's buffered
  // records to the sink, then returns the counters as this thread sees them: exact with
  // one worker, the workers' last published copies with several; after finish(), counters().
  PipelineCounters checkpoint();

 private:
  struct CaptureCounters {
    std::vector<std::uint64_t> queue_drops;
  };
  void publish_capture_counters(bool final);

  Decoder decoder_;
  std::unique_ptr<JoinStage> join_;                     // gateway addresses known
  std::unique_ptr<WorkerLane> inline_;                  // --workers 1
  std::vector<std::unique_ptr<WorkerThread>> threads_;  // --workers N > 1
  std::unique_ptr<Dispatcher> dispatcher_;
  Timestamp last_ts_;
  bool finished_ = false;
  unsigned frames_since_publish_ = 0;
  // Decode outcomes for live_counters(), exact at any moment (a replay from a pipe may
  // stall between two publications): one writer, so a relaxed load and store, no
  // read-modify-write; the same cost as the plain counter next to it.
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DecodeOutcome::kCount)>
      decode_live_{};
  SnapshotSlot<CaptureCounters> capture_published_;
};

// The end-of-run summary printed on stderr.
// The end-of-run summary printed on stderr. A live source always gets its capture line
// (kernel drops, even when zero) and a line of its backend's own counters.
std::string format_summary(const PipelineCounters& p, const SourceStats& source,
                           const SinkStats& sink, bool live = false,
                           const std::vector<std::pair<std::string, std::uint64_t>>& backend = {});

}  // namespace offpath
