#include "pipeline/dispatcher.hpp"

#include <algorithm>
#include <cstring>

#include "flow/flow_key.hpp"

namespace offpath {

unsigned worker_for(const Segment& seg, unsigned workers) {
  if (workers <= 1) return 0;
  Side sender;
  const std::uint64_t h = FlowKey::of(seg, sender).hash();
  // Multiply-shift on the high bits: uniform for any worker count, no division.
  return static_cast<unsigned>(((h >> 32) * workers) >> 32);
}

Dispatcher::Dispatcher(std::vector<SpscQueue<SegmentBatch>*> queues, bool live) : live_(live) {
  lanes_.resize(queues.size());
  for (std::size_t i = 0; i < queues.size(); ++i) lanes_[i].queue = queues[i];
}

SegmentBatch* Dispatcher::open_batch(Lane& lane, bool wait, Timestamp ts) {
  if (lane.open != nullptr) return lane.open;
  SegmentBatch* batch;
  while ((batch = lane.queue->claim()) == nullptr) {
    if (!wait) return nullptr;
    lane.queue->wait_not_full();
  }
  batch->reset();
  lane.open = batch;
  lane.opened = ts;
  return batch;
}

void Dispatcher::publish(Lane& lane) {
  if (lane.open == nullptr) return;
  lane.open = nullptr;
  lane.queue->publish();
}

void Dispatcher::dispatch(const Segment& seg) {
  Lane& lane = lanes_[worker_for(seg, static_cast<unsigned>(lanes_.size()))];
  // A payload larger than a whole batch (only with a snap length above kBytes) is cut;
  // payload_len still announces the rest, which the reassembler treats as a gap.
  const std::size_t n = std::min(seg.payload.size(), SegmentBatch::kBytes);
  if (lane.open != nullptr && (lane.open->count == SegmentBatch::kMaxSegments ||
                               lane.open->used + n > SegmentBatch::kBytes)) {
    publish(lane);
  }
  SegmentBatch* batch = open_batch(lane, !live_, seg.ts);
  if (batch == nullptr) {
    ++lane.drops;
    return;
  }
  Segment& copy = batch->segments[batch->count++];
  copy = seg;
  std::uint8_t* dst = batch->bytes.get() + batch->used;
  if (n != 0) std::memcpy(dst, seg.payload.data(), n);
  copy.payload = ByteView(dst, n);
  batch->used += n;
  if (live_ && seg.ts.micros - lane.opened.micros >= kLiveBatchMicros) publish(lane);
}

void Dispatcher::tick(Timestamp now) {
  for (Lane& lane : lanes_) {
    // A tick must not be lost, but a live capture thread must not block either: when
    // the queue is full the worker is busy and the next tick will do.
    SegmentBatch* batch = open_batch(lane, false, now);
    if (batch == nullptr) continue;
    batch->tick = now;
    publish(lane);
  }
}

void Dispatcher::finish(Outcome why, Timestamp ts) {
  for (Lane& lane : lanes_) publish(lane);
  for (Lane& lane : lanes_) {
    SegmentBatch* batch = open_batch(lane, true, ts);
    if (batch == nullptr) continue;  // cannot happen when waiting
    batch->finish = true;
    batch->finish_why = why;
    batch->finish_ts = ts;
    publish(lane);
  }
}

std::vector<std::uint64_t> Dispatcher::queue_drops() const {
  std::vector<std::uint64_t> drops;
  drops.reserve(lanes_.size());
  for (const Lane& lane : lanes_) drops.push_back(lane.drops);
  return drops;
}

}  // namespace offpath
