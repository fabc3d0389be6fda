// StreamReassembler: puts the bytes of ONE direction of a TCP connection back in order
// and hands them to a StreamHandler at 64-bit stream offsets (Zeek's contract: data at an
// offset, gaps as (offset, length) metadata, never as bytes in the stream).
//
// Policy (documented in the README, "Reassembly"):
//  - In-order bytes are delivered straight from the packet, without a copy.
//  - Out-of-order segments are copied and held until the hole before them fills, up to
//    `max_held_bytes` per direction; past that the hole is declared a gap and skipped.
//  - Retransmitted or overlapping bytes: the first copy wins. Bytes that overlap held data
//    and differ from it are counted as overlap conflicts; so are bytes that differ from
//    the first kRecentHead bytes of one of the last kRecentChunks chunks delivered (where
//    an injected response or request starts: its status or request line), whichever copy
//    came first. Those heads (about 320 bytes) are allocated at the first delivery and
//    freed by forget_recent(). A copy that differs only elsewhere in delivered bytes is
//    not detected.
//  - Sequence numbers wrap at 2^32; offsets are 64-bit and never wrap.
//  - A hole becomes a gap when the peer acknowledges past it (skip_to), when the held
//    bytes overflow, or when the stream is flushed at close, timeout or end of capture.
// Owned by one connection, called by the worker thread that owns the flow.
#pragma once

#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace offpath {

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Bytes [offset, offset + data.size()) of the stream, in order, each byte once.
  virtual void on_data(std::uint64_t offset, ByteView data, Timestamp ts) = 0;
  // Bytes [offset, offset + length) will never be delivered.
  virtual void on_gap(std::uint64_t offset, std::uint64_t length, Timestamp ts) = 0;
};

enum class SegmentOutcome : std::uint8_t {
  Empty,          // no payload (pure ACK, SYN, FIN)
  InOrder,        // delivered at once (possibly after trimming a retransmitted head)
  OutOfOrder,     // held until the hole before it fills
  Duplicate,      // every byte already delivered or held
  BeforeStart,    // entirely before the start of the stream
  NotStarted,     // stream has no starting point yet
};

struct ReassemblyCounters {
  std::uint64_t delivered_bytes = 0;
  std::uint64_t duplicate_bytes = 0;
  std::uint64_t gap_bytes = 0;
  std::uint64_t gaps = 0;
  std::uint64_t overlap_conflicts = 0;  // overlapping bytes that differ from the first copy
  std::uint64_t held_overflows = 0;     // holes skipped because held bytes hit the limit

  ReassemblyCounters& operator+=(const ReassemblyCounters& o) {
    delivered_bytes += o.delivered_bytes;
    duplicate_bytes += o.duplicate_bytes;
    gap_bytes += o.gap_bytes;
    gaps += o.gaps;
    overlap_conflicts += o.overlap_conflicts;
    held_overflows += o.held_overflows;
    return *this;
  }
};

class StreamReassembler {
 public:
  // Delivered bytes remembered to compare retransmissions with: the first kRecentHead
  // bytes of each of the last kRecentChunks chunks handed to the handler.
  static constexpr std::size_t kRecentChunks = 4;
  static constexpr std::size_t kRecentHead = 64;

  explicit StreamReassembler(std::uint64_t max_held_bytes) : max_held_(max_held_bytes) {}

  // Sets the sequence number of stream offset 0 (ISN + 1 after a SYN, or the first
  // data segment's sequence number when the connection was picked up mid-stream).
  void start(std::uint32_t first_seq);
  bool started() const { return started_; }

  SegmentOutcome add(std::uint32_t seq, ByteView data, Timestamp ts, StreamHandler& handler);

  // The peer acknowledged up to `ack`: whatever is still missing below it was lost by
  // the capture (the receiver got it). Declares that hole a gap and delivers what is
  // held behind it.
  void skip_to(std::uint32_t ack, Timestamp ts, StreamHandler& handler);
  void skip_to_offset(std::uint64_t target, Timestamp ts, StreamHandler& handler);

  // Delivers everything held, declaring every remaining hole a gap.
  void flush(Timestamp ts, StreamHandler& handler);
  // A segment that arrived after the stream ended: not delivered; counted as duplicate
  // bytes when it repeats delivered ones (a late retransmission).
  void count_late(std::uint32_t seq, std::size_t size);
  // Frees the heads of recently delivered chunks (the stream is not parsed any more).
  void forget_recent();

  // Offset of a sequence number relative to the next expected byte (may be negative).
  std::int64_t offset_of(std::uint32_t seq) const;

  std::uint64_t next_offset() const { return next_; }
  std::uint64_t held_bytes() const { return held_bytes_; }
  std::size_t held_segments() const { return held_.size(); }
  const ReassemblyCounters& counters() const { return counters_; }

 private:
  void hold(std::uint64_t offset, ByteView data);
  void drain(Timestamp ts, StreamHandler& handler);
  void skip_hole(Timestamp ts, StreamHandler& handler);
  void gap(std::uint64_t length, Timestamp ts, StreamHandler& handler);
  void deliver(ByteView bytes, Timestamp ts, StreamHandler& handler);
  void remember(std::uint64_t at, ByteView bytes);
  void compare_recent(std::uint64_t off, ByteView data);

  std::uint64_t max_held_;
  bool started_ = false;
  std::uint8_t recent_slot_ = 0;  // where the next remembered chunk goes (see recent_)
  std::uint32_t base_seq_ = 0;  // sequence number of offset 0
  std::uint64_t next_ = 0;      // next offset to deliver
  std::map<std::uint64_t, std::vector<std::uint8_t>> held_;  // offset -> bytes
  std::uint64_t held_bytes_ = 0;
  struct RecentChunk {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;  // of `head`: min(chunk size, kRecentHead); 0 = unused
    std::array<std::uint8_t, kRecentHead> head{};
  };
  std::unique_ptr<std::array<RecentChunk, kRecentChunks>> recent_;
  ReassemblyCounters counters_;
};

}  // namespace offpath
