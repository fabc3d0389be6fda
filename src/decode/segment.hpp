// Segment: one decoded TCP packet, the record that flows from the decoder to the flow
// table. Its payload is borrowed from the frame: valid only while the frame is, so the
// dispatcher copies it before crossing threads.
#pragma once

#include <cstdint>

#include "common/bytes.hpp"
#include "common/time.hpp"
#include "decode/ip_address.hpp"

namespace offpath {

namespace tcp_flags {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcp_flags

struct Segment {
  Timestamp ts;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  // Payload length announced by the IP header. When the capture cut the packet short,
  // payload.size() < payload_len and the missing tail is a gap for the reassembler.
  std::uint32_t payload_len = 0;
  ByteView payload;

  bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
};

}  // namespace offpath
