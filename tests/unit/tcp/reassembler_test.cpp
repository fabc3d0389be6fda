// StreamReassembler: each test feeds segments of one direction and checks the exact
// trace of on_data / on_gap events (offsets, lengths, bytes), the outcome of every add()
// and the counters.
#include "tcp/reassembler.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "support/recording_stream.hpp"

namespace offpath {

std::ostream& operator<<(std::ostream& os, SegmentOutcome o) {
  constexpr const char* kNames[] = {"Empty", "InOrder", "OutOfOrder", "Duplicate", "BeforeStart",
                                    "NotStarted"};
  return os << kNames[static_cast<int>(o)];
}

namespace {

using testing::bytes_of;
using testing::RecordingStream;
using Events = std::vector<std::string>;

constexpr Timestamp kTs{1};

class Reassembly : public ::testing::Test {
 protected:
  SegmentOutcome add(std::uint32_t seq, std::string_view data) {
    return r.add(seq, bytes_of(data), kTs, out);
  }
  StreamReassembler r{1 << 20};
  RecordingStream out;
};

TEST_F(Reassembly, InOrderSegmentsDeliveredAtOnce) {
  r.start(1000);
  EXPECT_EQ(add(1000, "abc"), SegmentOutcome::InOrder);
  EXPECT_EQ(add(1003, "def"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"data@0:abc", "data@3:def"}));
  EXPECT_EQ(r.next_offset(), 6u);
  EXPECT_EQ(r.counters().delivered_bytes, 6u);
  EXPECT_EQ(r.held_bytes(), 0u);
}

TEST_F(Reassembly, ReorderedSegmentHeldUntilHoleFills) {
  r.start(1000);
  EXPECT_EQ(add(1006, "ghi"), SegmentOutcome::OutOfOrder);
  EXPECT_EQ(add(1003, "def"), SegmentOutcome::OutOfOrder);
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(r.held_bytes(), 6u);
  EXPECT_EQ(add(1000, "abc"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"data@0:abc", "data@3:def", "data@6:ghi"}));
  EXPECT_EQ(r.held_bytes(), 0u);
  EXPECT_EQ(r.next_offset(), 9u);
  EXPECT_EQ(r.counters().delivered_bytes, 9u);
  EXPECT_EQ(r.counters().gaps, 0u);
}

TEST_F(Reassembly, DuplicatesAndPartialRetransmissions) {
  r.start(1000);
  add(1000, "abc");
  EXPECT_EQ(add(1000, "abc"), SegmentOutcome::Duplicate);
  EXPECT_EQ(add(1001, "b"), SegmentOutcome::Duplicate);
  // Retransmitted head plus new bytes: only the new bytes are delivered.
  EXPECT_EQ(add(1001, "bcdE"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"data@0:abc", "data@3:dE"}));
  EXPECT_EQ(r.counters().duplicate_bytes, 3u + 1u + 2u);
  EXPECT_EQ(r.counters().delivered_bytes, 5u);
}

TEST_F(Reassembly, DuplicateOfHeldSegment) {
  r.start(0);
  EXPECT_EQ(add(5, "fgh"), SegmentOutcome::OutOfOrder);
  EXPECT_EQ(add(5, "fgh"), SegmentOutcome::OutOfOrder);
  EXPECT_EQ(r.held_bytes(), 3u);
  EXPECT_EQ(r.counters().duplicate_bytes, 3u);
  EXPECT_EQ(r.counters().overlap_conflicts, 0u);
}

TEST_F(Reassembly, OverlapWithEqualBytes) {
  r.start(1000);
  add(1005, "fgh");
  add(1004, "efg");  // overlaps "fg" of the held segment with the same bytes
  EXPECT_EQ(r.held_bytes(), 4u);
  add(1000, "abcd");
  EXPECT_EQ(out.events, (Events{"data@0:abcd", "data@4:e", "data@5:fgh"}));
  EXPECT_EQ(out.stream, "abcdefgh");
  EXPECT_EQ(r.counters().overlap_conflicts, 0u);
  EXPECT_EQ(r.counters().duplicate_bytes, 2u);
}

TEST_F(Reassembly, OverlapWithDifferentBytesFirstCopyWins) {
  r.start(1000);
  add(1005, "fgh");
  add(1004, "eXYZ");  // "XY" conflicts with held "fg"; "Z" conflicts with "h"
  add(1003, "d");
  add(1000, "abc");
  EXPECT_EQ(out.stream, "abcdefgh");
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);  // one overlapping run, counted once
  EXPECT_EQ(r.counters().delivered_bytes, 8u);
}

TEST_F(Reassembly, OverlapSpanningTwoHeldSegmentsFillsBetween) {
  r.start(0);
  add(2, "cd");
  add(6, "gh");
  add(1, "BCDEFGHI");  // covers both held runs (different bytes) and the holes around them
  add(0, "a");
  EXPECT_EQ(out.stream, "aBcdEFghI");
  EXPECT_EQ(r.counters().overlap_conflicts, 2u);
  EXPECT_EQ(r.held_bytes(), 0u);
}

// The held bytes arrived first; an in-order retransmission that covers them with other
// bytes must not replace them ("first copy wins"), and the disagreement is a conflict.
TEST_F(Reassembly, InOrderSegmentOverlappingHeldBytesKeepsFirstCopy) {
  r.start(0);
  add(4, "efgh");
  EXPECT_EQ(add(0, "abcdEFGH"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.stream, "abcdefgh");
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);
}

TEST_F(Reassembly, SequenceWrapsAt32Bits) {
  r.start(0xFFFFFFFEu);
  EXPECT_EQ(add(0xFFFFFFFEu, "abcd"), SegmentOutcome::InOrder);  // crosses 2^32
  EXPECT_EQ(add(2, "ef"), SegmentOutcome::InOrder);
  EXPECT_EQ(add(0xFFFFFFFFu, "b"), SegmentOutcome::Duplicate);
  EXPECT_EQ(out.events, (Events{"data@0:abcd", "data@4:ef"}));
  EXPECT_EQ(r.offset_of(2), 4);
  EXPECT_EQ(r.offset_of(0xFFFFFFFEu), 0);
}

TEST_F(Reassembly, OutOfOrderAcrossWrap) {
  r.start(0xFFFFFFF0u);
  EXPECT_EQ(add(0x00000000u, "Q"), SegmentOutcome::OutOfOrder);  // offset 16
  EXPECT_EQ(add(0xFFFFFFF0u, "0123456789abcdef"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"data@0:0123456789abcdef", "data@16:Q"}));
}

TEST_F(Reassembly, OffsetsPastFourGigabytesDoNotWrap) {
  r.start(100);
  const std::uint64_t far = (1ull << 32) + 10;
  r.skip_to_offset(far, kTs, out);
  EXPECT_EQ(out.events, (Events{"gap@0+4294967306"}));
  const auto seq = static_cast<std::uint32_t>(100 + far);  // 110 after wrapping
  EXPECT_EQ(r.offset_of(seq), static_cast<std::int64_t>(far));
  EXPECT_EQ(add(seq, "z"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events.back(), "data@4294967306:z");
  EXPECT_EQ(r.next_offset(), far + 1);
}

TEST(ReassemblyLimits, HeldOverflowDeclaresGapThenResyncs) {
  StreamReassembler r(10);
  RecordingStream out;
  r.start(0);
  EXPECT_EQ(r.add(10, bytes_of("KLMNOP"), kTs, out), SegmentOutcome::OutOfOrder);
  EXPECT_TRUE(out.events.empty());
  // 12 bytes held > 10: the first hole is given up.
  EXPECT_EQ(r.add(20, bytes_of("UVWXYZ"), kTs, out), SegmentOutcome::OutOfOrder);
  EXPECT_EQ(out.events, (Events{"gap@0+10", "data@10:KLMNOP"}));
  EXPECT_EQ(r.counters().held_overflows, 1u);
  EXPECT_EQ(r.counters().gaps, 1u);
  EXPECT_EQ(r.counters().gap_bytes, 10u);
  EXPECT_EQ(r.held_bytes(), 6u);
  // The stream continues once the next hole fills.
  EXPECT_EQ(r.add(16, bytes_of("QRST"), kTs, out), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"gap@0+10", "data@10:KLMNOP", "data@16:QRST", "data@20:UVWXYZ"}));
  EXPECT_EQ(r.held_bytes(), 0u);
  EXPECT_EQ(r.next_offset(), 26u);
}

TEST(ReassemblyLimits, HeldOverflowSkipsAsManyHolesAsNeeded) {
  StreamReassembler r(4);
  RecordingStream out;
  r.start(0);
  r.add(2, bytes_of("cc"), kTs, out);
  r.add(6, bytes_of("gg"), kTs, out);
  r.add(10, bytes_of("kkk"), kTs, out);  // 7 held > 4
  EXPECT_EQ(out.events, (Events{"gap@0+2", "data@2:cc", "gap@4+2", "data@6:gg"}));
  EXPECT_EQ(r.counters().held_overflows, 2u);
  EXPECT_EQ(r.held_bytes(), 3u);
}

TEST_F(Reassembly, SkipToAckPastHole) {
  r.start(1000);
  add(1000, "abc");
  add(1010, "klm");
  r.skip_to(1010, kTs, out);  // the peer acknowledged everything before "klm"
  EXPECT_EQ(out.events, (Events{"data@0:abc", "gap@3+7", "data@10:klm"}));
  EXPECT_EQ(r.next_offset(), 13u);
  r.skip_to(1005, kTs, out);  // an old ACK: nothing happens
  EXPECT_EQ(out.events.size(), 3u);
  r.skip_to_offset(20, kTs, out);  // acknowledged bytes never seen at all
  EXPECT_EQ(out.events.back(), "gap@13+7");
  EXPECT_EQ(r.counters().gaps, 2u);
  EXPECT_EQ(r.counters().gap_bytes, 14u);
}

TEST_F(Reassembly, SkipToInsideHeldSegmentDeliversAllOfIt) {
  r.start(0);
  add(10, "klm");
  r.skip_to(12, kTs, out);
  EXPECT_EQ(out.events, (Events{"gap@0+10", "data@10:klm"}));
  EXPECT_EQ(r.next_offset(), 13u);
}

TEST_F(Reassembly, SkipToOffsetAcrossSeveralHoles) {
  r.start(0);
  add(5, "f");
  add(8, "i");
  r.skip_to_offset(12, kTs, out);
  EXPECT_EQ(out.events, (Events{"gap@0+5", "data@5:f", "gap@6+2", "data@8:i", "gap@9+3"}));
  EXPECT_EQ(r.next_offset(), 12u);
  EXPECT_EQ(r.counters().gaps, 3u);
  EXPECT_EQ(r.counters().gap_bytes, 10u);
}

TEST_F(Reassembly, SkipToKeepsHeldDataBeyondTarget) {
  r.start(0);
  add(20, "uv");
  r.skip_to_offset(10, kTs, out);
  EXPECT_EQ(out.events, (Events{"gap@0+10"}));
  EXPECT_EQ(r.held_bytes(), 2u);
  add(10, "klmnopqrst");
  EXPECT_EQ(out.events, (Events{"gap@0+10", "data@10:klmnopqrst", "data@20:uv"}));
}

TEST_F(Reassembly, FlushDeclaresEveryHole) {
  r.start(0);
  add(0, "abc");
  add(5, "fgh");
  add(10, "kl");
  r.flush(kTs, out);
  EXPECT_EQ(out.events,
            (Events{"data@0:abc", "gap@3+2", "data@5:fgh", "gap@8+2", "data@10:kl"}));
  EXPECT_EQ(r.held_bytes(), 0u);
  EXPECT_EQ(r.next_offset(), 12u);
  r.flush(kTs, out);  // nothing more
  EXPECT_EQ(out.events.size(), 5u);
}

TEST_F(Reassembly, SegmentsBeforeStart) {
  r.start(1000);
  EXPECT_EQ(add(990, "0123456789"), SegmentOutcome::BeforeStart);  // ends exactly at start
  EXPECT_EQ(add(995, "0123456789"), SegmentOutcome::InOrder);      // keeps the part inside
  EXPECT_EQ(out.events, (Events{"data@0:56789"}));
  EXPECT_EQ(r.offset_of(990), -10);
  EXPECT_EQ(r.offset_of(1005), 5);
}

TEST_F(Reassembly, DataBeforeStartIsNotStarted) {
  EXPECT_FALSE(r.started());
  EXPECT_EQ(add(1000, "abc"), SegmentOutcome::NotStarted);
  EXPECT_EQ(add(1000, ""), SegmentOutcome::Empty);
  r.skip_to(5000, kTs, out);
  r.skip_to_offset(50, kTs, out);
  EXPECT_TRUE(out.events.empty());
  r.start(1000);
  EXPECT_TRUE(r.started());
  EXPECT_EQ(add(1000, ""), SegmentOutcome::Empty);
  EXPECT_EQ(add(1000, "abc"), SegmentOutcome::InOrder);
  EXPECT_EQ(out.events, (Events{"data@0:abc"}));
}

// Bytes already delivered are remembered (the last kRecentBytes): a retransmission that
// disagrees with them is a conflict, a faithful one is not; the stream keeps the first copy.
TEST_F(Reassembly, RetransmissionDifferingFromDeliveredBytesIsAConflict) {
  r.start(1000);
  add(1000, "HTTP/1.1 302 Found\r\n");
  EXPECT_EQ(add(1000, "HTTP/1.1 302 Found\r\n"), SegmentOutcome::Duplicate);
  EXPECT_EQ(r.counters().overlap_conflicts, 0u);
  EXPECT_EQ(add(1000, "HTTP/1.1 200 OK\r\n"), SegmentOutcome::Duplicate);
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);
  // Partly old, partly new: the old part is compared, the new part delivered.
  EXPECT_EQ(add(1019, "?X-Injected: 0\r\n"), SegmentOutcome::InOrder);
  EXPECT_EQ(r.counters().overlap_conflicts, 2u);
  EXPECT_EQ(add(1020, "X-Injected: 0\r\n"), SegmentOutcome::Duplicate);
  EXPECT_EQ(r.counters().overlap_conflicts, 2u);
  EXPECT_EQ(out.stream, "HTTP/1.1 302 Found\r\nX-Injected: 0\r\n");
}

// The heads of the last kRecentChunks delivered chunks are remembered, kRecentHead bytes
// each: a difference there is found, one further into a chunk or in an older chunk not.
TEST_F(Reassembly, HeadsOfTheLastDeliveredChunksAreRemembered) {
  constexpr std::size_t kHead = StreamReassembler::kRecentHead;
  const std::string chunk(kHead + 20, 'a');
  r.start(0);
  for (std::size_t i = 0; i <= StreamReassembler::kRecentChunks; ++i) {
    add(static_cast<std::uint32_t>(i * chunk.size()), chunk);
  }
  auto at = [&](std::size_t i, std::size_t in) {
    return static_cast<std::uint32_t>(i * chunk.size() + in);
  };
  add(at(0, 0), "Z");  // the oldest chunk: forgotten
  EXPECT_EQ(r.counters().overlap_conflicts, 0u);
  add(at(2, kHead), "Z");  // past the head of a remembered chunk
  EXPECT_EQ(r.counters().overlap_conflicts, 0u);
  add(at(1, 0), "Z");
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);
  add(at(4, kHead - 1), "Z");
  EXPECT_EQ(r.counters().overlap_conflicts, 2u);
  // One copy spanning two chunks' heads is one conflict.
  add(at(2, 0), std::string(2 * chunk.size(), 'b'));
  EXPECT_EQ(r.counters().overlap_conflicts, 3u);
  EXPECT_EQ(r.counters().delivered_bytes, 5 * chunk.size());
  EXPECT_EQ(out.stream, std::string(5 * chunk.size(), 'a'));
}

// Chunks delivered from held data are remembered too; forget_recent() drops them all.
TEST_F(Reassembly, HeldChunksRememberedUntilForgotten) {
  r.start(0);
  add(4, "efgh");
  add(0, "abcd");
  add(4, "EFGH");
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);
  r.forget_recent();
  add(4, "EFGH");
  add(0, "ABCD");
  EXPECT_EQ(r.counters().overlap_conflicts, 1u);
  EXPECT_EQ(out.events, (Events{"data@0:abcd", "data@4:efgh"}));
}

// After the end of the stream a segment is only counted: as duplicate bytes when all of
// it repeats delivered bytes, not at all otherwise.
TEST_F(Reassembly, LateSegmentsAreCountedNotDelivered) {
  r.count_late(1000, 3);  // not started: nothing to compare with
  r.start(1000);
  add(1000, "abcdef");
  r.count_late(1002, 3);
  EXPECT_EQ(r.counters().duplicate_bytes, 3u);
  r.count_late(1004, 3);  // reaches past the end
  r.count_late(999, 2);   // starts before the stream
  EXPECT_EQ(r.counters().duplicate_bytes, 3u);
  EXPECT_EQ(out.events, (Events{"data@0:abcdef"}));
}

}  // namespace
}  // namespace offpath
