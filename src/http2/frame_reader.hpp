// FrameReader: one direction of an HTTP/2 connection, reassembled bytes -> frames
// (RFC 9113 section 4). Frames may be split across any number of deliveries and one
// delivery may hold many frames. The client direction may begin with the connection
// preface, which is checked and skipped. Padding (DATA, HEADERS, PUSH_PROMISE) and the
// HEADERS priority fields are removed, so `payload` is what the frame carries.
// Bounded: at most `max_payload` bytes of one frame are buffered; the rest of a larger
// frame is skipped and the frame delivered with `truncated` set (its full length in
// `length`); of a DATA frame, only max_data_payload bytes (set_max_data_payload: what the
// session keeps of a body) are buffered, and the frame is `truncated` without being
// counted oversized. A gap that falls inside the payload of an unpadded DATA frame keeps the
// framing: the frame is delivered with the bytes lost in `missing` (its payload holds
// what came before the gap). After any other gap, or a frame that cannot be one (bad
// padding), the reader searches the next frame boundary (Sync state, frame_sync.hpp:
// chained frame headers, at most kSyncWindow bytes buffered) and goes on from there; a
// reader started with start_sync() (a connection picked up mid-stream) begins so. Bytes
// not parsed (the gap's, and those before the boundary) are counted in skipped_bytes.
// A client preface that does not match loses the direction for good (Lost).
// Owned by one Http2Session; called on the worker thread that owns the connection.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/time.hpp"

namespace offpath::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr std::size_t kFrameHeaderSize = 9;

enum class FrameType : std::uint8_t {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
};

namespace flag {
inline constexpr std::uint8_t kEndStream = 0x1;   // DATA, HEADERS
inline constexpr std::uint8_t kAck = 0x1;         // SETTINGS, PING
inline constexpr std::uint8_t kEndHeaders = 0x4;  // HEADERS, PUSH_PROMISE, CONTINUATION
inline constexpr std::uint8_t kPadded = 0x8;      // DATA, HEADERS, PUSH_PROMISE
inline constexpr std::uint8_t kPriority = 0x20;   // HEADERS
}  // namespace flag

struct Frame {
  std::uint8_t type = 0;        // FrameType, or an unknown type (ignored by the session)
  std::uint8_t flags = 0;
  std::uint32_t stream_id = 0;  // reserved bit cleared
  std::uint32_t length = 0;     // payload length as the frame header gave it
  ByteView payload;             // padding and priority fields removed; valid during the call
  std::uint32_t data_bytes = 0; // DATA: bytes the frame carries, padding removed
  bool truncated = false;       // payload holds only the first max_payload bytes
  std::uint32_t missing = 0;    // DATA: payload bytes lost in a gap
  Timestamp ts;                 // packet time of the frame's last byte
};

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void on_frame(const Frame& frame) = 0;
};

enum class ReaderState : std::uint8_t { Preface, Frames, Sync, Lost };

class FrameReader {
 public:
  // `client`: the client's direction, which begins with the preface (and whose frames on
  // its own streams have odd ids).
  FrameReader(bool client, std::uint32_t max_payload)
      : state_(client ? ReaderState::Preface : ReaderState::Frames),
        client_(client),
        max_payload_(max_payload) {}

  // The bytes begin at an arbitrary point of the direction: search a frame boundary.
  void start_sync();
  void feed(ByteView bytes, Timestamp ts, FrameSink& sink);
  // Bytes lost at this point of the stream. Returns true if the framing survived (the
  // gap was inside a DATA payload), false if the reader now searches a frame boundary.
  bool on_gap(std::uint64_t length, Timestamp ts, FrameSink& sink);

  void set_max_data_payload(std::uint32_t n) { max_data_payload_ = n; }

  ReaderState state() const { return state_; }
  std::uint64_t frames() const { return frames_; }
  std::uint64_t skipped_bytes() const { return skipped_bytes_; }
  std::uint64_t oversized_frames() const { return oversized_frames_; }
  std::uint64_t malformed_frames() const { return malformed_frames_; }
  // Frame boundaries found by searching (after a gap, a broken frame, or at pick-up).
  std::uint64_t resyncs() const { return resyncs_; }
  std::int64_t heap_bytes() const {
    return static_cast<std::int64_t>(buf_.capacity() + sync_.capacity());
  }

 private:
  // Consumes bytes of the frame in progress; returns how many were used.
  std::size_t take(ByteView bytes, Timestamp ts, FrameSink& sink);
  // Buffers bytes in the Sync state until a frame boundary is found, then reads the
  // frames from it; returns how many bytes of `bytes` were used.
  std::size_t sync(ByteView bytes, Timestamp ts, FrameSink& sink);
  void lose(std::uint64_t length, ReaderState next);
  void deliver(Timestamp ts, FrameSink& sink);

  ReaderState state_;
  bool client_;
  std::uint32_t max_payload_;
  std::uint32_t max_data_payload_ = UINT32_MAX;
  std::uint8_t header_[kFrameHeaderSize] = {};
  std::size_t header_have_ = 0;
  std::size_t preface_have_ = 0;
  std::uint32_t length_ = 0;    // payload length of the frame in progress
  std::uint32_t consumed_ = 0;  // payload bytes of it seen so far
  std::string buf_;             // first max_payload_ bytes of its payload
  std::uint32_t missing_ = 0;   // payload bytes of it lost in gaps (DATA only)
  std::string sync_;            // Sync: bytes from the first position not ruled out
  std::uint64_t frames_ = 0;
  std::uint64_t skipped_bytes_ = 0;
  std::uint64_t oversized_frames_ = 0;
  std::uint64_t malformed_frames_ = 0;
  std::uint64_t resyncs_ = 0;
};

}  // namespace offpath::http2
