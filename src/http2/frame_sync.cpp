#include "http2/frame_sync.hpp"

#include <algorithm>

#include "http2/hpack_decoder.hpp"

namespace offpath::http2 {

namespace {

std::uint32_t frame_length(const std::uint8_t* h) {
  return (std::uint32_t{h[0]} << 16) | (std::uint32_t{h[1]} << 8) | h[2];
}

// The header block a frame leaves open (its stream), or 0 when none is.
std::uint32_t open_block_after(const std::uint8_t* h) {
  const auto type = static_cast<FrameType>(h[3]);
  const bool opens = type == FrameType::Headers || type == FrameType::PushPromise ||
                     type == FrameType::Continuation;
  if (!opens || (h[4] & flag::kEndHeaders) != 0) return 0;
  return load_be32(h + 5) & 0x7fffffffu;
}

}  // namespace

bool plausible_frame_header(const std::uint8_t* h, bool from_client) {
  const std::uint32_t length = frame_length(h);
  const std::uint8_t flags = h[4];
  const std::uint32_t raw_stream = load_be32(h + 5);
  if (length > kSyncMaxFrameLength || (raw_stream & 0x80000000u) != 0) return false;
  const std::uint32_t stream = raw_stream;
  const bool odd = stream % 2 == 1;
  auto only = [flags](std::uint8_t allowed) { return (flags & ~allowed) == 0; };
  switch (static_cast<FrameType>(h[3])) {
    case FrameType::Data:
      // An empty DATA frame only ends its stream (zero-filled bytes are not frames).
      return only(flag::kEndStream | flag::kPadded) && odd &&
             (length >= 1 || flags == flag::kEndStream);
    case FrameType::Headers: {
      std::uint32_t least = (flags & flag::kPadded) ? 2 : 1;  // a block is never empty
      if (flags & flag::kPriority) least += 5;
      return only(flag::kEndStream | flag::kEndHeaders | flag::kPadded | flag::kPriority) &&
             odd && length >= least;
    }
    case FrameType::Priority:
      return flags == 0 && stream != 0 && length == 5;
    case FrameType::RstStream:
      return flags == 0 && stream != 0 && length == 4;
    case FrameType::Settings:
      // An empty SETTINGS is legal but only sent first, where the preface shows the way.
      return only(flag::kAck) && stream == 0 &&
             ((flags & flag::kAck) ? length == 0 : length % 6 == 0 && length != 0);
    case FrameType::PushPromise:
      return !from_client && only(flag::kEndHeaders | flag::kPadded) && odd &&
             length >= ((flags & flag::kPadded) ? 6u : 5u);
    case FrameType::Ping:
      return only(flag::kAck) && stream == 0 && length == 8;
    case FrameType::GoAway:
      return flags == 0 && stream == 0 && length >= 8;
    case FrameType::WindowUpdate:
      return flags == 0 && length == 4;
    case FrameType::Continuation:
      return only(flag::kEndHeaders) && odd && length >= 1;
  }
  return false;  // an unknown type: legal, but no evidence
}

ChainCheck check_chain(ByteView bytes, std::size_t at, bool from_client) {
  int frames = 0;
  std::uint32_t open_block = 0;  // stream whose header block the previous frame left open
  std::size_t pos = at;
  while (frames < kSyncFrames) {
    if (pos == bytes.size() && frames >= 2) return ChainCheck::Confirmed;
    if (pos + kFrameHeaderSize > bytes.size()) return ChainCheck::Undecided;
    const std::uint8_t* h = bytes.data() + pos;
    if (!plausible_frame_header(h, from_client)) return ChainCheck::Rejected;
    const bool continuation = h[3] == static_cast<std::uint8_t>(FrameType::Continuation);
    const std::uint32_t stream = load_be32(h + 5) & 0x7fffffffu;
    // After the first frame the chain knows whether a header block is open.
    if (frames > 0 && (continuation != (open_block != 0) ||
                       (continuation && stream != open_block))) {
      return ChainCheck::Rejected;
    }
    open_block = open_block_after(h);
    pos += kFrameHeaderSize + frame_length(h);
    ++frames;
  }
  return ChainCheck::Confirmed;
}

Sender frames_sender(ByteView bytes, std::size_t at) {
  if (at >= kClientPreface.size() &&
      as_chars(bytes.subspan(at - kClientPreface.size(), kClientPreface.size())) == kClientPreface) {
    return Sender::Client;
  }
  for (std::size_t pos = at; pos + kFrameHeaderSize <= bytes.size();) {
    const std::uint8_t* h = bytes.data() + pos;
    const std::size_t length = frame_length(h);
    const auto type = static_cast<FrameType>(h[3]);
    if (type == FrameType::PushPromise) return Sender::Server;
    if (type == FrameType::Headers) {
      const std::size_t skip = (h[4] & flag::kPadded ? 1u : 0u) + (h[4] & flag::kPriority ? 5u : 0u);
      ByteView block = bytes.subspan(pos + kFrameHeaderSize);
      block = block.first(std::min(block.size(), length));
      block = block.subspan(std::min(block.size(), skip));
      // Dynamic table size updates may come first (001xxxxx).
      for (HpackField f = hpack_field_extent(block);
           f.kind == HpackField::TableSizeUpdate && f.size <= block.size();
           f = hpack_field_extent(block)) {
        block = block.subspan(f.size);
      }
      if (block.empty()) return Sender::Unknown;
      const std::uint8_t c = block[0];
      const unsigned index = (c & 0x80) ? c & 0x7fu : (c & 0x40) ? c & 0x3fu : c & 0x0fu;
      if (index >= 1 && index <= 7) return Sender::Client;
      if (index >= 8 && index <= 14) return Sender::Server;
      return Sender::Unknown;
    }
    pos += kFrameHeaderSize + length;
  }
  return Sender::Unknown;
}

BoundarySearch find_frame_boundary(ByteView bytes, bool from_client) {
  BoundarySearch r;
  r.keep_from = bytes.size();
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    const ChainCheck c = check_chain(bytes, at, from_client);
    if (c == ChainCheck::Rejected) continue;
    if (c == ChainCheck::Confirmed) {
      r.keep_from = at;
      r.found = true;
      return r;
    }
    r.keep_from = std::min(r.keep_from, at);
  }
  return r;
}

}  // namespace offpath::http2
