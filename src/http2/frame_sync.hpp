// Frame boundary search: where HTTP/2 frames begin in bytes read from an arbitrary point
// of one direction (a connection picked up mid-stream, or the bytes after a capture gap).
// A position is a frame boundary when the frame headers chained from it (each header
// `9 + length` bytes after the previous one) are plausible: a known type, only the flags
// that type defines, a length that type allows and at most the default
// SETTINGS_MAX_FRAME_SIZE (16 KiB), the reserved bit clear, stream 0 exactly for the
// connection frames, odd streams for HEADERS, DATA and CONTINUATION (the frames of
// pushed streams, even, are not taken as evidence), no empty header block, no empty DATA
// but one that ends its stream, no empty SETTINGS (zero-filled bytes would pass
// otherwise), CONTINUATION only where a header block is open and always where one is. Evidence: kSyncFrames (3)
// chained headers, or 2 whose frames end exactly where the bytes seen end (senders write
// whole frames; a segment that ends with a frame's end says so). HTTP/1.x text cannot
// pass (its bytes are not valid types and flags), random bytes pass with a probability
// below 1e-12 per position. Pure functions; called on the worker thread that owns the
// connection (FrameReader in its Sync state, Connection to recognise HTTP/2 mid-stream).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"
#include "http2/frame_reader.hpp"

namespace offpath::http2 {

inline constexpr std::uint32_t kSyncMaxFrameLength = 16384;
inline constexpr int kSyncFrames = 3;
// Enough bytes to decide any position: kSyncFrames frames of the largest length.
inline constexpr std::size_t kSyncWindow = kSyncFrames * (kFrameHeaderSize + kSyncMaxFrameLength);

// The 9 bytes at `h` are a frame header this direction may send.
bool plausible_frame_header(const std::uint8_t* h, bool from_client);

enum class ChainCheck : std::uint8_t {
  Rejected,   // not a frame boundary
  Undecided,  // plausible so far; the bytes end before the evidence does
  Confirmed,  // a frame boundary
};

// Whether `bytes` holds frames chained from `at`.
ChainCheck check_chain(ByteView bytes, std::size_t at, bool from_client);

struct BoundarySearch {
  std::size_t keep_from = 0;  // the boundary found, else the first undecided position
  bool found = false;         // keep_from is a confirmed frame boundary
};

// Who sent the frames chained from the boundary `at`, when they say: the client
// connection preface just before them (client), a PUSH_PROMISE (server), or the first
// field of the first header block: a static entry of a request pseudo-header (:authority,
// :method, :path, :scheme: indices 1 to 7) or of :status (8 to 14). Only the frames
// within `bytes` are looked at.
enum class Sender : std::uint8_t { Unknown, Client, Server };
Sender frames_sender(ByteView bytes, std::size_t at);

// The first confirmed position of `bytes`; failing one, the first position still
// undecided (bytes before it can be dropped). A confirmed position is taken over an
// earlier undecided one: the latter is almost always a few bytes that happen to look
// like the header of a large frame, whose end is not in sight. O(size): each check
// stops after kSyncFrames headers.
BoundarySearch find_frame_boundary(ByteView bytes, bool from_client);

}  // namespace offpath::http2
