// IpDefragmenter: puts IPv4 and IPv6 fragments back together before the flow is known
// (fragments after the first carry no ports, so this runs on the capture thread, before
// sharding). Called by the Decoder for every fragment it meets, at any tunnel depth.
//
// Pending datagrams are keyed by (version, source, destination, protocol, id) and bounded
// three ways: at most Limits::max_datagrams at once, at most Limits::max_bytes of
// fragment data held, and at most Limits::timeout_micros of packet time since a
// datagram's first fragment (RFC 791 and 8200 suggest 15 to 60 s; Linux uses 30 s). A new
// datagram that does not fit evicts the oldest. Overlapping fragments are counted and the
// bytes seen first win, as in the TCP reassembler. Every fragment that does not end in a
// reassembled datagram is counted: dropped (malformed or cut by the capture), or part of
// a datagram that timed out, was evicted or is still pending at the end.
//
// Memory: the slots are reserved at construction; a slot's buffer grows to its datagram
// and keeps up to kKeepCapacity bytes for the next one, so in the steady state nothing is
// allocated. The reassembled datagram returned by add() is owned by the defragmenter and
// valid until the next call to add().
//
// Capture thread only.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/time.hpp"
#include "decode/ip_address.hpp"

namespace offpath {

// One fragment, as the decoder read it from its IP header.
struct IpFragment {
  std::uint8_t version = 4;       // 4 or 6
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;      // IPv4 protocol, or the IPv6 fragment header's next header
  std::uint32_t id = 0;           // identification (16 bits for IPv4, 32 for IPv6)
  std::uint32_t offset = 0;       // in bytes
  bool more = false;              // more fragments follow
  // The packet's bytes before the fragment data: the IPv4 header, or the IPv6 header and
  // extension headers before the fragment header. Used from the offset-0 fragment.
  ByteView header;
  // IPv6: index in `header` of the next-header byte that names the fragment header.
  std::size_t next_header_at = 6;
  ByteView data;                  // the fragment's data as captured
  std::uint32_t data_len = 0;     // the data length the IP header announces
};

struct DefragCounters {
  std::uint64_t fragments = 0;    // fragments handed to add()
  std::uint64_t reassembled = 0;  // datagrams put back together
  std::uint64_t overlaps = 0;     // fragments overlapping bytes already held (first wins)
  std::uint64_t timed_out = 0;    // datagrams dropped incomplete after the timeout
  std::uint64_t evicted = 0;      // datagrams dropped incomplete to make room
  std::uint64_t dropped = 0;      // fragments dropped: malformed, cut by the capture, too big
  std::uint64_t atomic = 0;       // IPv6 atomic fragments (offset 0, no more) taken whole
};

class IpDefragmenter {
 public:
  struct Limits {
    std::size_t max_datagrams = 256;
    std::size_t max_bytes = 4u << 20;
    std::int64_t timeout_micros = 30'000'000;
  };
  enum class Result : std::uint8_t { Held, Complete, Dropped };

  IpDefragmenter() : IpDefragmenter(Limits{}) {}
  explicit IpDefragmenter(const Limits& limits);

  // Takes one fragment at packet time `now`. Complete: `datagram` is the whole IP packet
  // (header lengths and fragment fields rewritten), valid until the next add().
  Result add(const IpFragment& frag, Timestamp now, ByteView& datagram);

  // An IPv6 atomic fragment (offset 0, no more fragments), decoded as a whole packet.
  void count_atomic() { ++counters_.atomic; }

  const DefragCounters& counters() const { return counters_; }
  std::size_t pending() const { return active_; }
  std::size_t held_bytes() const { return held_bytes_; }

 private:
  static constexpr std::size_t kUnits = 65536 / 8;          // 8-byte fragment units
  static constexpr std::size_t kMaxHeader = 256;            // unfragmentable part
  static constexpr std::size_t kKeepCapacity = 16 * 1024;   // buffer kept by a free slot

  struct Slot {
    bool used = false;
    std::uint8_t version = 4;
    IpAddress src;
    IpAddress dst;
    std::uint8_t protocol = 0;
    std::uint32_t id = 0;
    std::int64_t first_micros = 0;
    std::uint32_t total = 0;        // datagram data length, once the last fragment is seen
    bool total_known = false;
    std::size_t units_have = 0;
    std::array<std::uint64_t, kUnits / 64> have{};
    std::array<std::uint8_t, kMaxHeader> header{};
    std::size_t header_len = 0;     // 0 until the offset-0 fragment arrives
    std::size_t next_header_at = 6;
    std::vector<std::uint8_t> data;
  };

  Slot* oldest_except(const Slot* keep);
  Slot* find_or_claim(const IpFragment& frag, Timestamp now);
  void expire(Timestamp now);
  void release(Slot& slot);
  Result assemble(Slot& slot, ByteView& datagram);

  Limits limits_;
  std::vector<Slot> slots_;
  std::size_t active_ = 0;
  std::size_t held_bytes_ = 0;
  std::vector<std::uint8_t> out_;
  DefragCounters counters_;
};

}  // namespace offpath
