// Live capture off an interface (-i): the factory main() calls, and the pieces both live
// backends share (the -w pcap writer, --client/--server network parsing, the pcap
// filter built from --port and the networks).
//
// Threads: make_live_source() and the parsers run on the start-up thread. A PcapWriter
// is owned by one source and written only from that source's capture thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "common/result.hpp"
#include "config/config.hpp"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace offpath {

// Opens the backend chosen by options.backend on options.interfaces: a PcapLiveSource
// (--capture pcap, the default) or an EbpfSource (--capture ebpf). Errors name the
// interface, the filter or the missing capability, in one line.
Result<std::unique_ptr<Source>> make_live_source(const LiveCaptureOptions& options);

// An IPv4 or IPv6 network from --client/--server ("10.1.0.0/16", "2001:db8::/32", or a
// bare address for a single host). IPv4 is kept IPv4-mapped (::ffff:a.b.c.d) with the
// prefix length plus 96, the form the eBPF maps use.
struct Cidr {
  std::array<std::uint8_t, 16> addr{};  // network byte order, host bits cleared
  unsigned prefix = 0;                  // 0..128, in the IPv6 (mapped) space
  bool ipv4 = false;
  std::string text;                     // as given
  // "10.1.0.0/16" or "2001:db8::/32": the network with host bits cleared.
  std::string normalized() const;
};
Result<Cidr> parse_cidr(const std::string& text);

// The kernel filter the pcap backend installs: the -f expression, and-ed with what the
// server ports and client/server networks allow, in either orientation:
//   (F) and ((tcp and dst port P and src net C and dst net S) or
//            (tcp and src port P and dst net C and src net S))
// Empty when nothing restricts the capture.
Result<std::string> build_pcap_filter(const LiveCaptureOptions& options);

// Writes captured frames to a pcap file (-w) so that a live run can be replayed later
// with -r. Owns the dumper; flushes on flush() and on destruction.
class PcapWriter {
 public:
  static Result<std::unique_ptr<PcapWriter>> open(const std::string& path, LinkType link,
                                                  int snaplen);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(const Frame& frame);
  Result<void> flush();
  const std::string& path() const { return path_; }

 private:
  PcapWriter(pcap_t* dead, pcap_dumper_t* dumper, std::string path);
  pcap_t* dead_;
  pcap_dumper_t* dumper_;
  std::string path_;
};

}  // namespace offpath
