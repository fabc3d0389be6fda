// Replays a pcap or pcapng file (or standard input, path "-") through libpcap's offline
// reader, optionally narrowed by a BPF filter as tcpdump -r does (frames the filter
// rejects are not counted). Runs on the calling thread; owns the pcap_t.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"

typedef struct pcap pcap_t;

namespace offpath {

class PcapFileSource final : public Source {
 public:
  // Opens the file; an unreadable or non-pcap file is an error naming the path. A
  // non-empty `filter` (pcap-filter syntax) is compiled for the file's link type; an
  // expression that does not compile is an error naming -f.
  static Result<std::unique_ptr<PcapFileSource>> open(const std::string& path,
                                                      const std::string& filter = {});
  // The filter of a replay: the -f expression and-ed with "tcp port N or ..." of --port.
  static std::string replay_filter(const std::string& expression,
                                   const std::vector<std::uint16_t>& ports);
  ~PcapFileSource() override;
  PcapFileSource(const PcapFileSource&) = delete;
  PcapFileSource& operator=(const PcapFileSource&) = delete;

  Result<void> run(FrameHandler& handler, const std::atomic<bool>& stop) override;
  SourceStats stats() const override;
  std::string describe() const override { return "file " + path_; }
  bool live() const override { return false; }
  LinkType link_type() const { return link_; }

 private:
  PcapFileSource(pcap_t* handle, std::unique_ptr<char[]> buffer, std::string path, LinkType link,
                 std::uint64_t size);
  static constexpr std::size_t kReadBufferSize = 1 << 20;

  std::unique_ptr<char[]> read_buffer_;  // the FILE's stdio buffer; outlives pcap_close()
  pcap_t* handle_;
  std::string path_;
  LinkType link_;
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> read_{0};
  std::uint64_t file_size_;
  std::atomic<bool> truncated_file_{false};
};

}  // namespace offpath
