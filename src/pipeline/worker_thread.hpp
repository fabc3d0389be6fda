// The pieces of one worker, and the thread that runs it.
//
// SegmentBatch: what crosses from the capture thread to a worker. A queue slot, allocated
// once with room for kMaxSegments segments and kBytes payload bytes; the dispatcher copies
// each segment's payload into the slot's byte area (the capture frame it came from is
// gone once the callback returns) and points the segment at the copy. A batch may also
// carry a time tick (an idle live link) and, last of all, the order to finish.
//
// WorkerLane: one worker's state: its flow table (Worker), its ExchangeOutput and, when
// the sink is a FileSink, its private output buffer. Shared with nothing. The inline
// pipeline (--workers 1) drives one lane on the capture thread; a WorkerThread drives one
// on its own thread.
//
// WorkerThread: owns a lane, the SPSC queue that feeds it and the std::thread. The
// capture thread is the queue's only producer; the worker thread its only consumer.
// The lane's counters are read directly only after join(); while it runs, the metrics
// thread reads the copy the lane publishes once per batch (published_counters()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/spsc_queue.hpp"
#include "config/config.hpp"
#include "decode/segment.hpp"
#include "metrics/snapshot.hpp"
#include "exchange/classify.hpp"
#include "output/file_sink.hpp"
#include "output/sink.hpp"
#include "pipeline/exchange_output.hpp"
#include "pipeline/join_stage.hpp"
#include "pipeline/worker.hpp"

namespace offpath {

struct SegmentBatch {
  static constexpr std::size_t kMaxSegments = 1024;
  static constexpr std::size_t kBytes = 256 * 1024;

  std::unique_ptr<Segment[]> segments{new Segment[kMaxSegments]};
  std::unique_ptr<std::uint8_t[]> bytes{new std::uint8_t[kBytes]};
  std::size_t count = 0;
  std::size_t used = 0;        // payload bytes in `bytes`
  Timestamp tick;              // micros != 0: advance packet time to this after the segments
  bool finish = false;         // the last batch: end every flow with finish_why at finish_ts
  Outcome finish_why = Outcome::CaptureEnded;
  Timestamp finish_ts;

  void reset() {
    count = 0;
    used = 0;
    tick = Timestamp{};
    finish = false;
  }
};

// One lane's counters as the metrics thread sees them.
struct LaneCounters {
  WorkerCounters worker;
  OutputCounters output;
  std::size_t active_flows = 0;
};

// A FileSink gets a private FileSinkBuffer in `buffer`, returned; other sinks are returned.
Sink& buffered_sink(std::unique_ptr<FileSinkBuffer>& buffer, Sink& sink);

class WorkerLane {
 public:
  // A FileSink gets a private FileSinkBuffer per lane; other sinks are written directly.
  // With a join stage (gateway addresses known), exchanges of gateway legs go to it as
  // lane number `index`.
  WorkerLane(const Config& config, const ClassifyOptions& classify, Sink& sink,
             JoinStage* join = nullptr, unsigned index = 0);
  Worker& worker() { return worker_; }
  const Worker& worker() const { return worker_; }
  const ExchangeOutput& output() const { return output_; }
  // Hands buffered records to the FileSink (nothing to do for other sinks).
  void flush_output();
  // The sink this lane's records go through: its buffer, or `shared` without one.
  Sink& output_sink(Sink& shared);
  // Tells the join stage (if any) the packet time the worker reached.
  void report_time();
  bool has_buffered_output() const { return buffer_ && !buffer_->empty(); }
  // Copies the counters for the metrics thread: try_publish (never waits) from the
  // lane's own thread; `final` waits (finish).
  void publish_counters(bool final = false);
  // The last published copy; false before the first. Any thread.
  bool published_counters(LaneCounters& out) const { return published_.read(out); }

 private:
  SnapshotSlot<LaneCounters> published_;
  std::unique_ptr<FileSinkBuffer> buffer_;
  ExchangeOutput output_;
  std::unique_ptr<JoinFeed> feed_;
  JoinStage* join_;
  unsigned index_;
  Worker worker_;
};

class WorkerThread {
 public:
  static constexpr std::size_t kQueueSlots = 16;

  // `live`: hand output to the sink whenever the queue runs dry, so that records of a
  // quiet link do not wait for a full buffer.
  WorkerThread(const Config& config, const ClassifyOptions& classify, Sink& sink, bool live,
               JoinStage* join = nullptr, unsigned index = 0);
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  SpscQueue<SegmentBatch>& queue() { return queue_; }
  void start();
  // Returns once the thread has processed a finish batch and exited.
  void join();
  const WorkerLane& lane() const { return lane_; }

 private:
  void run();

  WorkerLane lane_;
  bool live_;
  SpscQueue<SegmentBatch> queue_;
  std::thread thread_;
};

}  // namespace offpath
