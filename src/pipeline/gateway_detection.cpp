#include "pipeline/gateway_detection.hpp"

#include <atomic>

#include "capture/pcap_file_source.hpp"
#include "decode/decoder.hpp"
#include "join/gateway_set.hpp"

namespace offpath {
namespace {

class SynCollector final : public FrameHandler {
 public:
  SynCollector(std::uint64_t max_frames, std::atomic<bool>& stop)
      : max_frames_(max_frames), stop_(stop) {}
  void on_frame(const Frame& frame) override {
    if (++frames_ >= max_frames_) stop_.store(true);
    Segment seg;
    if (decoder_.decode(frame, seg) != DecodeOutcome::Tcp) return;
    if (seg.has(tcp_flags::kSyn) && !seg.has(tcp_flags::kAck)) {
      detector_.on_connection(seg.src, seg.dst);
    }
  }
  std::vector<IpAddress> detected() const { return detector_.detected(); }

 private:
  std::uint64_t max_frames_;
  std::atomic<bool>& stop_;
  std::uint64_t frames_ = 0;
  Decoder decoder_;
  GatewayDetector detector_;
};

}  // namespace

std::vector<IpAddress> detect_gateways(const std::string& path, const std::string& filter,
                                       std::uint64_t max_frames) {
  auto file = PcapFileSource::open(path, filter);
  if (!file) return {};
  std::atomic<bool> stop{false};
  SynCollector collector(max_frames, stop);
  if (!(*file)->run(collector, stop)) return {};
  return collector.detected();
}

}  // namespace offpath
