// Capture sources: where frames come from (a pcap file, a live interface, the eBPF ring
// buffer). A source runs on its own capture thread and pushes each frame to a
// FrameHandler; the frame's bytes are borrowed for the duration of the call only, so a
// handler that keeps them must copy. All sources feed the same decoder.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "common/time.hpp"

namespace offpath {

// Link-layer header types, numbered as in libpcap's LINKTYPE_* registry.
enum class LinkType : std::uint16_t {
  Null = 0,          // BSD loopback: 4-byte address family in host byte order
  Ethernet = 1,
  Raw = 101,         // raw IPv4 or IPv6, no link header (LINKTYPE_RAW)
  RawDlt = 12,       // the same, as libpcap's DLT_RAW reports it on Linux
  RawDltBsd = 14,    // the same, DLT_RAW on OpenBSD
  LinuxSll = 113,    // Linux cooked capture v1
  Loop = 108,        // OpenBSD loopback: 4-byte address family in network byte order
  LinuxSll2 = 276,   // Linux cooked capture v2 (pcap on "any")
  Ipv4 = 228,
  Ipv6 = 229,
  Nflog = 239,       // Linux NFLOG: netlink TLVs around the IP packet
};

struct Frame {
  Timestamp ts;
  std::uint32_t wire_len = 0;  // length on the wire; bytes.size() is what was captured
  LinkType link = LinkType::Ethernet;
  ByteView bytes;
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // One captured frame; bytes valid only during the call.
  virtual void on_frame(const Frame& frame) = 0;
  // Called by live sources when no frame arrived for a while, with the current wall
  // time, so that timeouts still fire on an idle link. Replays never call it.
  virtual void on_idle(Timestamp /*now*/) {}
};

// What a source saw that the frames alone cannot tell.
struct SourceStats {
  std::uint64_t frames = 0;         // frames handed to the handler
  std::uint64_t bytes = 0;          // captured bytes handed to the handler
  std::uint64_t kernel_drops = 0;   // dropped before reaching us (pcap_stats, ring buffer)
  std::uint64_t interface_drops = 0;
  std::uint64_t truncated = 0;      // frames cut below their wire length by the source
  std::uint64_t input_bytes_read = 0;  // file sources: bytes of the file consumed so far
  std::uint64_t input_bytes_total = 0; // file sources: file size when known, else 0
};

class Source {
 public:
  virtual ~Source() = default;
  // Delivers frames until the input ends, `stop` becomes true, or an error occurs.
  // A truncated file is not an error: what could be read is delivered and counted.
  virtual Result<void> run(FrameHandler& handler, const std::atomic<bool>& stop) = 0;
  // Safe to call from another thread while run() is active.
  virtual SourceStats stats() const = 0;
  virtual std::string describe() const = 0;
  // Counters only this backend has, as (reason, value): the eBPF program's per-decision
  // packet counts. For the summary and the metrics; any thread.
  virtual std::vector<std::pair<std::string, std::uint64_t>> backend_counters() const {
    return {};
  }
  // True for a live source (an interface), false for a file replay.
  virtual bool live() const { return true; }
};

}  // namespace offpath
