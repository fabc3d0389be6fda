#include "http2/frame_reader.hpp"

#include <algorithm>

#include "http2/frame_sync.hpp"

namespace offpath::http2 {

void FrameReader::lose(std::uint64_t length, ReaderState next) {
  skipped_bytes_ += length;
  // The bytes of a frame in progress are not parsed either.
  if (state_ == ReaderState::Frames) {
    skipped_bytes_ += header_have_;
    if (header_have_ == kFrameHeaderSize) skipped_bytes_ += consumed_ - missing_;
  }
  state_ = next;
  header_have_ = 0;
  buf_.clear();
}

void FrameReader::start_sync() {
  state_ = ReaderState::Sync;
  header_have_ = 0;
  buf_.clear();
  sync_.clear();
}

bool FrameReader::on_gap(std::uint64_t length, Timestamp ts, FrameSink& sink) {
  const bool in_data = state_ == ReaderState::Frames && header_have_ == kFrameHeaderSize &&
                       header_[3] == static_cast<std::uint8_t>(FrameType::Data) &&
                       (header_[4] & flag::kPadded) == 0 && length <= length_ - consumed_;
  if (!in_data) {
    if (state_ == ReaderState::Lost) {
      skipped_bytes_ += length;
      return false;
    }
    // Frames cannot chain across the gap: what the search held is given up.
    skipped_bytes_ += sync_.size();
    sync_.clear();
    lose(length, ReaderState::Sync);
    return false;
  }
  consumed_ += static_cast<std::uint32_t>(length);
  missing_ += static_cast<std::uint32_t>(length);
  if (consumed_ == length_) deliver(ts, sink);
  return true;
}

void FrameReader::feed(ByteView bytes, Timestamp ts, FrameSink& sink) {
  while (!bytes.empty()) {
    if (state_ == ReaderState::Lost) {
      skipped_bytes_ += bytes.size();
      return;
    }
    if (state_ == ReaderState::Sync) {
      bytes = bytes.subspan(sync(bytes, ts, sink));
      continue;
    }
    if (state_ == ReaderState::Preface) {
      const std::size_t n = std::min(bytes.size(), kClientPreface.size() - preface_have_);
      if (as_chars(bytes.first(n)) != kClientPreface.substr(preface_have_, n)) {
        ++malformed_frames_;
        lose(0, ReaderState::Lost);
        continue;
      }
      preface_have_ += n;
      bytes = bytes.subspan(n);
      if (preface_have_ == kClientPreface.size()) state_ = ReaderState::Frames;
      continue;
    }
    bytes = bytes.subspan(take(bytes, ts, sink));
  }
}

std::size_t FrameReader::sync(ByteView bytes, Timestamp ts, FrameSink& sink) {
  // At most kSyncWindow bytes held: enough to decide the first position kept, so the
  // search below always drops some (a full window that decided nothing cannot happen;
  // were it to, its first byte goes, so that feeding always moves on).
  if (sync_.size() >= kSyncWindow) {
    ++skipped_bytes_;
    sync_.erase(0, 1);
  }
  const std::size_t n = std::min(bytes.size(), kSyncWindow - sync_.size());
  sync_.append(reinterpret_cast<const char*>(bytes.data()), n);
  while (state_ == ReaderState::Sync && !sync_.empty()) {
    auto held = ByteView(reinterpret_cast<const std::uint8_t*>(sync_.data()), sync_.size());
    const BoundarySearch found = find_frame_boundary(held, client_);
    skipped_bytes_ += found.keep_from;
    sync_.erase(0, found.keep_from);
    if (!found.found) break;
    ++resyncs_;
    state_ = ReaderState::Frames;
    header_have_ = 0;
    // take() does not touch sync_; a broken frame sends the reader back to Sync, and
    // the search goes on after it.
    held = ByteView(reinterpret_cast<const std::uint8_t*>(sync_.data()), sync_.size());
    std::size_t used = 0;
    while (used < held.size() && state_ == ReaderState::Frames) {
      used += take(held.subspan(used), ts, sink);
    }
    sync_.erase(0, used);
  }
  // Steady state again (Frames used every byte held): give the search buffer back.
  if (state_ != ReaderState::Sync) std::string().swap(sync_);
  return n;
}

std::size_t FrameReader::take(ByteView bytes, Timestamp ts, FrameSink& sink) {
  std::size_t used = 0;
  if (header_have_ < kFrameHeaderSize) {
    used = std::min(bytes.size(), kFrameHeaderSize - header_have_);
    std::copy_n(bytes.data(), used, header_ + header_have_);
    header_have_ += used;
    if (header_have_ < kFrameHeaderSize) return used;
    length_ = (std::uint32_t{header_[0]} << 16) | (std::uint32_t{header_[1]} << 8) | header_[2];
    consumed_ = 0;
    missing_ = 0;
    buf_.clear();
    bytes = bytes.subspan(used);
  }
  const std::size_t n = std::min<std::size_t>(bytes.size(), length_ - consumed_);
  // After a gap in the payload, later bytes are not kept: the payload stays contiguous.
  const std::uint32_t cap = header_[3] == static_cast<std::uint8_t>(FrameType::Data)
                                ? std::min(max_payload_, max_data_payload_)
                                : max_payload_;
  const std::size_t keep =
      missing_ != 0 ? 0 : std::min<std::size_t>(n, consumed_ < cap ? cap - consumed_ : 0);
  buf_.append(reinterpret_cast<const char*>(bytes.data()), keep);
  consumed_ += static_cast<std::uint32_t>(n);
  used += n;
  if (consumed_ == length_) deliver(ts, sink);
  return used;
}

void FrameReader::deliver(Timestamp ts, FrameSink& sink) {
  header_have_ = 0;
  ++frames_;
  Frame f;
  f.type = header_[3];
  f.flags = header_[4];
  f.stream_id = load_be32(header_ + 5) & 0x7fffffffu;
  f.length = length_;
  f.missing = missing_;
  f.truncated = missing_ == 0 && buf_.size() < length_;
  f.ts = ts;
  if (f.truncated && length_ > max_payload_) ++oversized_frames_;
  auto* data = reinterpret_cast<const std::uint8_t*>(buf_.data());
  std::size_t begin = 0;
  std::size_t end = buf_.size();
  std::size_t pad = 0;
  const bool paddable = f.type == static_cast<std::uint8_t>(FrameType::Data) ||
                        f.type == static_cast<std::uint8_t>(FrameType::Headers) ||
                        f.type == static_cast<std::uint8_t>(FrameType::PushPromise);
  if (paddable && (f.flags & flag::kPadded)) {
    if (length_ < 1 || end < 1) {
      ++malformed_frames_;
      lose(0, ReaderState::Sync);
      return;
    }
    pad = data[0];
    begin = 1;
    if (pad > length_ - 1) {  // padding longer than the frame: a broken stream
      ++malformed_frames_;
      lose(0, ReaderState::Sync);
      return;
    }
  }
  if (f.type == static_cast<std::uint8_t>(FrameType::Headers) && (f.flags & flag::kPriority)) {
    begin += 5;  // stream dependency (4) and weight (1)
  }
  // Payload bytes before the padding, within what was kept.
  const std::size_t content_end = std::min<std::size_t>(end, length_ - pad);
  if (begin > content_end) {
    if (length_ - pad < begin) {
      ++malformed_frames_;
      lose(0, ReaderState::Sync);
      return;
    }
    begin = content_end;
  }
  f.payload = ByteView(data + begin, content_end - begin);
  if (f.type == static_cast<std::uint8_t>(FrameType::Data)) {
    f.data_bytes = static_cast<std::uint32_t>((f.flags & flag::kPadded) ? length_ - 1 - pad : length_);
  }
  sink.on_frame(f);
}

}  // namespace offpath::http2
