// Dispatcher: the capture thread's side of the worker queues. Picks the worker of each
// segment from the symmetric flow hash (both directions of a connection meet in one
// worker), copies the segment and its payload into that worker's open batch, and
// publishes the batch when it is full (or, on a live link, when it has been open for
// kLiveBatchMicros of packet time, or on an idle tick).
//
// When a worker's queue is full: a live source cannot wait (the kernel ring would
// overflow instead), so the segment is dropped and counted in that worker's queue_drops;
// a file replay waits for the worker, so a replay never loses a packet.
//
// Capture thread only; no locks; no allocation after construction.
#pragma once

#include <cstdint>
#include <vector>

#include "common/spsc_queue.hpp"
#include "decode/segment.hpp"
#include "exchange/exchange.hpp"
#include "pipeline/worker_thread.hpp"

namespace offpath {

// The worker (0..workers-1) that owns the connection of `seg`; the same for both directions.
unsigned worker_for(const Segment& seg, unsigned workers);

class Dispatcher {
 public:
  static constexpr std::int64_t kLiveBatchMicros = 10'000;

  Dispatcher(std::vector<SpscQueue<SegmentBatch>*> queues, bool live);
  void dispatch(const Segment& seg);
  // Publishes every open batch with a time tick (live sources on an idle link).
  void tick(Timestamp now);
  // Publishes every open batch followed by the finish order; waits for room even live.
  void finish(Outcome why, Timestamp ts);
  // Segments dropped because the worker's queue was full, per worker.
  std::vector<std::uint64_t> queue_drops() const;

 private:
  struct Lane {
    SpscQueue<SegmentBatch>* queue = nullptr;
    SegmentBatch* open = nullptr;  // claimed, not yet published
    Timestamp opened;
    std::uint64_t drops = 0;
  };
  // The lane's open batch, claiming a slot if needed; nullptr when full and not waiting.
  SegmentBatch* open_batch(Lane& lane, bool wait, Timestamp ts);
  void publish(Lane& lane);

  std::vector<Lane> lanes_;
  bool live_;
};

}  // namespace offpath
