#include "pipeline/join_stage.hpp"

#include "pipeline/worker_thread.hpp"

namespace offpath {

JoinStage::JoinStage(const Config& config, JoinSetup setup, const ClassifyOptions& classify,
                     Sink& sink, unsigned lanes, bool threaded, bool live)
    : gateways_(std::move(setup.gateways)),
      auto_(setup.candidates),
      threaded_(threaded),
      live_(live),
      config_(config),
      classify_(classify),
      window_(std::move(setup.options), classify, *this),
      lane_now_(lanes),
      memory_(config.memory) {
  if (threaded) use_sink(buffered_sink(buffer_, sink));
}

void JoinStage::use_sink(Sink& sink) {
  output_ = std::make_unique<ExchangeOutput>(config_, classify_, sink);
}

Timestamp JoinStage::watermark() const {
  // Every lane counts: one that has reported nothing yet holds the window back (a live
  // capture ticks every lane; a replay decides what waits at the end or at the limits).
  Timestamp w = lane_now_.front();
  for (const Timestamp& t : lane_now_) {
    if (t < w) w = t;
  }
  return w;
}

void JoinStage::account() {
  const auto held = static_cast<std::int64_t>(window_.bytes());
  memory_.change(MemoryPool::Exchanges, accounted_, held);
  accounted_ = held;
}

JoinStageCounters JoinStage::current_counters() const {
  JoinStageCounters c{window_.counters(), output_counters()};
  c.output.memory += memory_.pools();
  return c;
}

void JoinStage::publish() {
  account();
  if (++calls_since_publish_ < SnapshotSlot<JoinStageCounters>::kPublishEvery) return;
  calls_since_publish_ = 0;
  published_.try_publish(current_counters());
}

void JoinStage::on_exchange(unsigned lane, Exchange&& ex, Leg leg) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (threaded_) lock.lock();
  if (ex.end() > lane_now_[lane]) lane_now_[lane] = ex.end();
  window_.on_exchange(std::move(ex), leg, watermark());
  publish();
}

void JoinStage::on_time(unsigned lane, Timestamp now) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (threaded_) lock.lock();
  if (now > lane_now_[lane]) lane_now_[lane] = now;
  window_.advance(watermark());
  if (live_ && buffer_ && !buffer_->empty()) buffer_->flush(std::chrono::milliseconds(0));
  publish();
}

void JoinStage::finish() {
  std::lock_guard lock(mu_);
  window_.finish();
  if (buffer_) buffer_->flush(std::chrono::milliseconds(0));
  account();
  published_.publish(current_counters());
}

JoinStageCounters JoinStage::counters() const {
  std::lock_guard lock(mu_);
  return current_counters();
}

std::uint64_t JoinStage::bytes() const {
  std::lock_guard lock(mu_);
  return window_.bytes();
}

}  // namespace offpath
