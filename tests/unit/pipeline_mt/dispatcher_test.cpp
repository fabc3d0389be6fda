#include "pipeline/dispatcher.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

namespace offpath {
namespace {

Segment segment(std::uint8_t client_host, std::uint16_t client_port, bool to_server,
                Timestamp ts, ByteView payload = {}) {
  const std::uint8_t client[4] = {10, 0, 0, client_host};
  const std::uint8_t server[4] = {10, 0, 1, 1};
  Segment s;
  s.ts = ts;
  s.src = IpAddress::v4(to_server ? client : server);
  s.dst = IpAddress::v4(to_server ? server : client);
  s.src_port = to_server ? client_port : 80;
  s.dst_port = to_server ? 80 : client_port;
  s.flags = tcp_flags::kAck;
  s.payload = payload;
  s.payload_len = static_cast<std::uint32_t>(payload.size());
  return s;
}

struct Queues {
  explicit Queues(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<SpscQueue<SegmentBatch>>(WorkerThread::kQueueSlots));
      raw.push_back(owned.back().get());
    }
  }
  std::vector<std::unique_ptr<SpscQueue<SegmentBatch>>> owned;
  std::vector<SpscQueue<SegmentBatch>*> raw;
};

TEST(WorkerFor, BothDirectionsOfAConnectionGoToTheSameWorker) {
  for (unsigned workers : {2u, 3u, 7u}) {
    for (std::uint16_t port = 1000; port < 1200; ++port) {
      EXPECT_EQ(worker_for(segment(1, port, true, {}), workers),
                worker_for(segment(1, port, false, {}), workers))
          << "port " << port << ", " << workers << " workers";
    }
  }
}

TEST(WorkerFor, SpreadsConnectionsOverEveryWorker) {
  std::array<unsigned, 3> per_worker{};
  for (std::uint16_t port = 1000; port < 1300; ++port) {
    const unsigned w = worker_for(segment(2, port, true, {}), 3);
    ASSERT_LT(w, 3u);
    ++per_worker[w];
  }
  for (unsigned n : per_worker) EXPECT_GT(n, 50u);  // 100 expected each
  EXPECT_EQ(worker_for(segment(2, 1000, true, {}), 1), 0u);
}

TEST(Dispatcher, CopiesPayloadsAndEndsWithTheFinishOrder) {
  Queues q(2);
  Dispatcher d(q.raw, /*live=*/false);
  std::vector<std::uint8_t> frame = {'G', 'E', 'T', ' ', '/'};
  d.dispatch(segment(3, 4000, true, Timestamp{1}, frame));
  std::memset(frame.data(), 'x', frame.size());  // the capture buffer is reused
  d.dispatch(segment(3, 4000, false, Timestamp{2}));
  d.finish(Outcome::CaptureEnded, Timestamp{3});

  const unsigned w = worker_for(segment(3, 4000, true, {}), 2);
  SegmentBatch* batch = q.raw[w]->front();
  ASSERT_NE(batch, nullptr);
  ASSERT_EQ(batch->count, 2u);
  EXPECT_EQ(as_chars(batch->segments[0].payload), "GET /");
  EXPECT_TRUE(batch->segments[1].payload.empty());
  EXPECT_FALSE(batch->finish);
  q.raw[w]->pop();
  batch = q.raw[w]->front();
  ASSERT_NE(batch, nullptr);
  EXPECT_TRUE(batch->finish);
  EXPECT_EQ(batch->finish_ts, Timestamp{3});
  EXPECT_EQ(batch->count, 0u);
  q.raw[w]->pop();
  EXPECT_EQ(q.raw[w]->front(), nullptr);

  // The other worker got no segment, only its finish order.
  batch = q.raw[1 - w]->front();
  ASSERT_NE(batch, nullptr);
  EXPECT_TRUE(batch->finish);
  EXPECT_EQ(batch->count, 0u);
}

TEST(Dispatcher, FullBatchesArePublishedAndANewOneOpened) {
  Queues q(1);
  Dispatcher d(q.raw, /*live=*/false);
  for (std::size_t i = 0; i < SegmentBatch::kMaxSegments + 1; ++i) {
    d.dispatch(segment(4, 5000, true, Timestamp{1}));
  }
  SegmentBatch* first = q.raw[0]->front();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->count, SegmentBatch::kMaxSegments);
  q.raw[0]->pop();
  EXPECT_EQ(q.raw[0]->front(), nullptr);  // the second batch is still open
  d.finish(Outcome::CaptureEnded, Timestamp{2});
  SegmentBatch* second = q.raw[0]->front();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->count, 1u);
}

TEST(Dispatcher, LiveSourceDropsAndCountsWhenTheQueueIsFull) {
  Queues q(1);
  Dispatcher d(q.raw, /*live=*/true);
  // Live batches close after kLiveBatchMicros of packet time: two segments per batch here.
  const std::size_t fits = 2 * WorkerThread::kQueueSlots;
  std::int64_t t = 1;
  for (std::size_t i = 0; i < fits + 5; ++i) {
    d.dispatch(segment(5, 6000, true, Timestamp{t}));
    t += Dispatcher::kLiveBatchMicros;
  }
  EXPECT_EQ(d.queue_drops(), std::vector<std::uint64_t>{5});
  std::size_t batches = 0;
  std::size_t segments = 0;
  while (SegmentBatch* b = q.raw[0]->front()) {
    ++batches;
    segments += b->count;
    q.raw[0]->pop();
  }
  EXPECT_EQ(batches, WorkerThread::kQueueSlots);
  EXPECT_EQ(segments, fits);
}

TEST(Dispatcher, IdleTickReachesEveryWorker) {
  Queues q(3);
  Dispatcher d(q.raw, /*live=*/true);
  d.tick(Timestamp{42});
  for (auto* queue : q.raw) {
    SegmentBatch* b = queue->front();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->tick, Timestamp{42});
    EXPECT_EQ(b->count, 0u);
  }
}

}  // namespace
}  // namespace offpath
