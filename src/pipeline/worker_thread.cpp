#include "pipeline/worker_thread.hpp"

namespace offpath {

Sink& buffered_sink(std::unique_ptr<FileSinkBuffer>& buffer, Sink& sink) {
  if (auto* file = dynamic_cast<FileSink*>(&sink); file != nullptr) {
    buffer = std::make_unique<FileSinkBuffer>(*file);
    return *buffer;
  }
  return sink;
}

WorkerLane::WorkerLane(const Config& config, const ClassifyOptions& classify, Sink& sink,
                       JoinStage* join, unsigned index)
    : output_(config, classify, buffered_sink(buffer_, sink)),
      feed_(join != nullptr ? std::make_unique<JoinFeed>(*join, index, output_) : nullptr),
      join_(join),
      index_(index),
      worker_(config, feed_ ? static_cast<ExchangeHandler&>(*feed_) : output_) {}

Sink& WorkerLane::output_sink(Sink& shared) {
  return buffer_ ? static_cast<Sink&>(*buffer_) : shared;
}

void WorkerLane::report_time() {
  if (join_ != nullptr) join_->on_time(index_, worker_.now());
}

void WorkerLane::publish_counters(bool final) {
  LaneCounters c{worker_.counters(), output_.counters(), worker_.active_flows()};
  if (final) {
    published_.publish(c);
  } else {
    published_.try_publish(c);
  }
}

void WorkerLane::flush_output() {
  if (buffer_) buffer_->flush(std::chrono::milliseconds(0));
}

WorkerThread::WorkerThread(const Config& config, const ClassifyOptions& classify, Sink& sink,
                           bool live, JoinStage* join, unsigned index)
    : lane_(config, classify, sink, join, index), live_(live), queue_(kQueueSlots) {}

WorkerThread::~WorkerThread() {
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::start() { thread_ = std::thread([this] { run(); }); }

void WorkerThread::join() {
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::run() {
  Worker& worker = lane_.worker();
  for (;;) {
    SegmentBatch* batch = queue_.front();
    if (batch == nullptr) {
      if (live_ && lane_.has_buffered_output()) lane_.flush_output();
      queue_.wait_not_empty();
      continue;
    }
    for (std::size_t i = 0; i < batch->count; ++i) worker.on_segment(batch->segments[i]);
    if (batch->tick.micros != 0) worker.on_time(batch->tick);
    lane_.report_time();
    const bool finish = batch->finish;
    if (finish) {
      worker.finish_all(batch->finish_why, batch->finish_ts);
      lane_.flush_output();
    }
    lane_.publish_counters(finish);
    queue_.pop();
    if (finish) return;
  }
}

}  // namespace offpath
