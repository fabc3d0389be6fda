// RecordingStream: a StreamHandler for unit tests that turns on_data / on_gap into a
// trace of short strings ("data@OFFSET:BYTES", "gap@OFFSET+LEN"), so that a test states
// its input and the exact events it expects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tcp/reassembler.hpp"

namespace offpath::testing {

inline ByteView bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// StreamHandler that records "data@OFFSET:BYTES" and "gap@OFFSET+LEN" events and keeps
// the delivered bytes (a gap shows as one '#' per byte in `stream`, or as "[gap N]" when
// longer than 64 KiB).
class RecordingStream final : public StreamHandler {
 public:
  void on_data(std::uint64_t offset, ByteView data, Timestamp /*ts*/) override {
    events.push_back("data@" + std::to_string(offset) + ":" + std::string(as_chars(data)));
    stream.append(as_chars(data));
  }
  void on_gap(std::uint64_t offset, std::uint64_t length, Timestamp /*ts*/) override {
    events.push_back("gap@" + std::to_string(offset) + "+" + std::to_string(length));
    if (length <= (1u << 16)) {
      stream.append(static_cast<std::size_t>(length), '#');
    } else {
      stream += "[gap " + std::to_string(length) + "]";
    }
  }
  std::vector<std::string> events;
  std::string stream;
};

}  // namespace offpath::testing
