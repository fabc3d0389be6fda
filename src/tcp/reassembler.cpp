#include "tcp/reassembler.hpp"

#include <algorithm>
#include <cstring>

namespace offpath {

void StreamReassembler::start(std::uint32_t first_seq) {
  started_ = true;
  base_seq_ = first_seq;
  next_ = 0;
}

std::int64_t StreamReassembler::offset_of(std::uint32_t seq) const {
  const auto expected = static_cast<std::uint32_t>(base_seq_ + static_cast<std::uint32_t>(next_));
  const auto delta = static_cast<std::int32_t>(seq - expected);
  return static_cast<std::int64_t>(next_) + delta;
}

SegmentOutcome StreamReassembler::add(std::uint32_t seq, ByteView data, Timestamp ts,
                                      StreamHandler& handler) {
  if (data.empty()) return SegmentOutcome::Empty;
  if (!started_) return SegmentOutcome::NotStarted;
  std::int64_t off = offset_of(seq);
  std::int64_t end = off + static_cast<std::int64_t>(data.size());
  if (end <= 0) return SegmentOutcome::BeforeStart;
  if (off < 0) {  // starts before offset 0: keep only the part inside the stream
    data = data.subspan(static_cast<std::size_t>(-off));
    off = 0;
  }
  auto uoff = static_cast<std::uint64_t>(off);
  auto uend = static_cast<std::uint64_t>(end);
  if (uoff < next_) compare_recent(uoff, data);
  if (uend <= next_) {
    counters_.duplicate_bytes += data.size();
    return SegmentOutcome::Duplicate;
  }
  if (uoff <= next_) {
    std::size_t skip = static_cast<std::size_t>(next_ - uoff);
    counters_.duplicate_bytes += skip;
    ByteView fresh = data.subspan(skip);
    // Bytes that reach into held data: the held (first) copy wins; hold() compares them.
    if (!held_.empty() && held_.begin()->first < uend) {
      auto keep = static_cast<std::size_t>(held_.begin()->first - next_);
      hold(held_.begin()->first, fresh.subspan(keep));
      fresh = fresh.first(keep);
      uend = next_ + keep;
    }
    deliver(fresh, ts, handler);
    drain(ts, handler);
    return SegmentOutcome::InOrder;
  }
  hold(uoff, data);
  while (held_bytes_ > max_held_ && !held_.empty()) {
    ++counters_.held_overflows;
    skip_hole(ts, handler);
  }
  return SegmentOutcome::OutOfOrder;
}

// Stores [off, off+data) without overlapping what is already held: the first copy wins;
// bytes that overlap and differ are counted as conflicts.
void StreamReassembler::hold(std::uint64_t off, ByteView data) {
  std::uint64_t end = off + data.size();
  std::uint64_t cursor = off;
  auto it = held_.upper_bound(off);
  if (it != held_.begin()) --it;
  while (cursor < end) {
    // Skip held segments that end before the cursor.
    while (it != held_.end() && it->first + it->second.size() <= cursor) ++it;
    std::uint64_t piece_end = end;
    if (it != held_.end() && it->first <= cursor) {
      // Overlap with a held segment: compare, then move past it.
      std::uint64_t held_end = it->first + it->second.size();
      std::uint64_t overlap_end = std::min(end, held_end);
      const std::uint8_t* mine = data.data() + (cursor - off);
      const std::uint8_t* theirs = it->second.data() + (cursor - it->first);
      auto n = static_cast<std::size_t>(overlap_end - cursor);
      if (std::memcmp(mine, theirs, n) != 0) ++counters_.overlap_conflicts;
      counters_.duplicate_bytes += n;
      cursor = overlap_end;
      continue;
    }
    if (it != held_.end()) piece_end = std::min(end, it->first);
    const std::uint8_t* p = data.data() + (cursor - off);
    auto n = static_cast<std::size_t>(piece_end - cursor);
    held_.emplace_hint(it, cursor, std::vector<std::uint8_t>(p, p + n));
    held_bytes_ += n;
    cursor = piece_end;
  }
}

void StreamReassembler::drain(Timestamp ts, StreamHandler& handler) {
  while (!held_.empty()) {
    auto it = held_.begin();
    if (it->first > next_) break;
    std::vector<std::uint8_t> bytes = std::move(it->second);
    std::uint64_t off = it->first;
    held_.erase(it);
    held_bytes_ -= bytes.size();
    std::uint64_t end = off + bytes.size();
    if (end <= next_) {
      counters_.duplicate_bytes += bytes.size();
      continue;
    }
    auto skip = static_cast<std::size_t>(next_ - off);
    counters_.duplicate_bytes += skip;
    deliver(ByteView(bytes).subspan(skip), ts, handler);
  }
}

// Bytes at next_, in order: to the handler, and their head to the recent chunks.
void StreamReassembler::deliver(ByteView bytes, Timestamp ts, StreamHandler& handler) {
  std::uint64_t at = next_;
  next_ += bytes.size();
  counters_.delivered_bytes += bytes.size();
  remember(at, bytes);
  handler.on_data(at, bytes, ts);
}

// Bytes [next_, next_ + length) will never come.
void StreamReassembler::gap(std::uint64_t length, Timestamp ts, StreamHandler& handler) {
  std::uint64_t at = next_;
  next_ += length;
  ++counters_.gaps;
  counters_.gap_bytes += length;
  handler.on_gap(at, length, ts);
}

void StreamReassembler::remember(std::uint64_t at, ByteView bytes) {
  if (!recent_) recent_ = std::make_unique<std::array<RecentChunk, kRecentChunks>>();
  RecentChunk& c = (*recent_)[recent_slot_];
  recent_slot_ = static_cast<std::uint8_t>((recent_slot_ + 1) % kRecentChunks);
  c.offset = at;
  if (bytes.size() >= kRecentHead) {  // the usual case: a fixed-size copy, inlined
    c.length = kRecentHead;
    std::memcpy(c.head.data(), bytes.data(), kRecentHead);
  } else {
    c.length = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(c.head.data(), bytes.data(), bytes.size());
  }
}

// `data` sits at `off` < next_: where it covers a remembered head it must repeat it.
void StreamReassembler::compare_recent(std::uint64_t off, ByteView data) {
  if (!recent_) return;
  for (const RecentChunk& c : *recent_) {
    std::uint64_t lo = std::max(off, c.offset);
    std::uint64_t hi = std::min(off + data.size(), c.offset + c.length);
    if (lo >= hi) continue;
    if (std::memcmp(c.head.data() + (lo - c.offset), data.data() + (lo - off),
                    static_cast<std::size_t>(hi - lo)) != 0) {
      ++counters_.overlap_conflicts;
      return;
    }
  }
}

void StreamReassembler::count_late(std::uint32_t seq, std::size_t size) {
  if (!started_) return;
  const std::int64_t off = offset_of(seq);
  if (off >= 0 && off + static_cast<std::int64_t>(size) <= static_cast<std::int64_t>(next_)) {
    counters_.duplicate_bytes += size;
  }
}

void StreamReassembler::forget_recent() {
  recent_.reset();
  recent_slot_ = 0;
}

void StreamReassembler::skip_hole(Timestamp ts, StreamHandler& handler) {
  if (held_.empty()) return;
  std::uint64_t hole_end = held_.begin()->first;
  if (hole_end > next_) gap(hole_end - next_, ts, handler);
  drain(ts, handler);
}

void StreamReassembler::skip_to(std::uint32_t ack, Timestamp ts, StreamHandler& handler) {
  if (!started_) return;
  std::int64_t ack_off = offset_of(ack);
  if (ack_off <= static_cast<std::int64_t>(next_)) return;
  skip_to_offset(static_cast<std::uint64_t>(ack_off), ts, handler);
}

void StreamReassembler::skip_to_offset(std::uint64_t target, Timestamp ts,
                                       StreamHandler& handler) {
  if (!started_ || target <= next_) return;
  // Deliver held data and skip holes up to the acknowledged point.
  while (next_ < target) {
    if (!held_.empty() && held_.begin()->first <= target) {
      skip_hole(ts, handler);
      continue;
    }
    // Nothing held below the target: the bytes before it were lost by the capture.
    gap(target - next_, ts, handler);
  }
  drain(ts, handler);
}

void StreamReassembler::flush(Timestamp ts, StreamHandler& handler) {
  while (!held_.empty()) skip_hole(ts, handler);
}

}  // namespace offpath
