// Live capture with libpcap (--capture pcap, the default for -i): one pcap_t per
// interface ("any" included, delivered as Linux cooked v2 / SLL2), each on a TPACKET_V3
// memory-mapped ring of --buffer-mb, with the kernel filter from -f, --port, --client and
// --server compiled in. All handles are polled together by run() on the capture thread;
// stats() may be called from any thread and reports the kernel's drop counters
// (pcap_stats) as sampled by the capture thread about once a second and at the end.
// Owns the pcap_t handles and the optional -w writer.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "capture/live_source.hpp"
#include "capture/source.hpp"
#include "config/config.hpp"

struct pcap_pkthdr;

namespace offpath {

class PcapLiveSource final : public Source {
 public:
  // Opens and activates every interface. Errors: no such interface, a filter that does
  // not compile (libpcap's text), missing CAP_NET_RAW, or -w on interfaces whose link
  // types differ.
  static Result<std::unique_ptr<PcapLiveSource>> open(const LiveCaptureOptions& options);
  ~PcapLiveSource() override;
  PcapLiveSource(const PcapLiveSource&) = delete;
  PcapLiveSource& operator=(const PcapLiveSource&) = delete;

  Result<void> run(FrameHandler& handler, const std::atomic<bool>& stop) override;
  SourceStats stats() const override;
  std::string describe() const override;

  // Link type of the i-th interface (in -i order), and the filter installed on all.
  LinkType link_type(std::size_t i) const;
  const std::string& filter_expression() const { return filter_; }

 private:
  struct Handle;
  struct DispatchContext;
  PcapLiveSource() = default;
  static void on_packet(unsigned char* user, const ::pcap_pkthdr* hdr,
                        const unsigned char* data);
  void sample_stats();

  std::vector<std::unique_ptr<Handle>> handles_;
  std::string filter_;
  std::unique_ptr<PcapWriter> writer_;
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> truncated_{0};
  std::atomic<std::uint64_t> kernel_drops_{0};
  std::atomic<std::uint64_t> interface_drops_{0};
};

}  // namespace offpath
