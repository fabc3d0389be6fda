// Replays a pcap or pcapng file (or standard input, path "-") through libpcap's offline
// reader, optionally narrowed by a BPF filter as tcpdump -r does (frames the filter
// rejects are not counted). Runs on the calling thread; owns the pcap_t.
//
// A regular file in the classic pcap format (version 2.4, micro- or nanosecond magic,
// either byte order) is read in large blocks and each frame handed out in place:
// libpcap's reader copies every record out of its stdio buffer, which costs more than
// the rest of reading. libpcap still opens and validates the file, compiles the filter
// (applied with pcap_offline_filter) and reads everything else; at the first record the
// in-place reader would have to judge (longer than the snap length or than libpcap's
// maximum, or cut short by the end of the file) it hands over to libpcap at that record,
// so odd files are read exactly as libpcap reads them.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/source.hpp"

typedef struct pcap pcap_t;
struct bpf_program;

namespace offpath {

class PcapFileSource final : public Source {
 public:
  // Opens the file; an unreadable or non-pcap file is an error naming the path. A
  // non-empty `filter` (pcap-filter syntax) is compiled for the file's link type; an
  // expression that does not compile is an error naming -f.
  // `in_place` false: every record through libpcap (tests compare the two readers).
  static Result<std::unique_ptr<PcapFileSource>> open(const std::string& path,
                                                      const std::string& filter = {},
                                                      bool in_place = true);
  // The filter of a replay: the -f expression and-ed with "tcp port N or ..." of --port.
  static std::string replay_filter(const std::string& expression,
                                   const std::vector<std::uint16_t>& ports);
  // Bytes per read: the in-place reader's block, and libpcap's stdio buffer.
  static constexpr std::size_t kReadBufferSize = 1 << 20;
  ~PcapFileSource() override;
  PcapFileSource(const PcapFileSource&) = delete;
  PcapFileSource& operator=(const PcapFileSource&) = delete;

  Result<void> run(FrameHandler& handler, const std::atomic<bool>& stop) override;
  SourceStats stats() const override;
  std::string describe() const override { return "file " + path_; }
  bool live() const override { return false; }
  LinkType link_type() const { return link_; }
  // Whether records are read in place (see the top of this file).
  bool reads_in_place() const { return in_place_.enabled; }

 private:
  PcapFileSource(pcap_t* handle, std::unique_ptr<char[]> buffer, std::string path, LinkType link,
                 std::uint64_t size);
  // Reads records in place from `in_place_offset_` on; returns the offset of the record
  // where libpcap must take over, or nullopt when the file was read to its end or
  // `stop` was set.
  std::optional<std::uint64_t> run_in_place(FrameHandler& handler, const std::atomic<bool>& stop);
  void deliver(FrameHandler& handler, const Frame& frame);

  // The in-place reader's view of the file (see the top of this file).
  struct InPlace {
    bool enabled = false;
    bool swapped = false;      // the file's byte order is not ours
    bool nanoseconds = false;  // the magic announces nanosecond fractions
    std::uint32_t max_caplen = 0;
    std::uint64_t offset = 24;  // of the first record
  };
  static InPlace in_place_format(int fd, pcap_t* handle);
  InPlace in_place_;
  std::unique_ptr<::bpf_program> filter_;  // compiled -f, for pcap_offline_filter

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
