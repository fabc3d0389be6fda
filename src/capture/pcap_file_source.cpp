#include "capture/pcap_file_source.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace offpath {

std::string PcapFileSource::replay_filter(const std::string& expression,
                                          const std::vector<std::uint16_t>& ports) {
  std::string port_clause;
  for (auto port : ports) {
    port_clause += port_clause.empty() ? "(tcp port " : " or tcp port ";
    port_clause += std::to_string(port);
  }
  if (!port_clause.empty()) port_clause += ")";
  if (expression.empty()) return port_clause;
  if (port_clause.empty()) return expression;
  return "(" + expression + ") and " + port_clause;
}

Result<std::unique_ptr<PcapFileSource>> PcapFileSource::open(const std::string& path,
                                                             const std::string& filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  // Our own FILE with a large buffer: libpcap's default stdio buffer turns a replay into
  // one read() system call per few packets.
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return make_error("cannot read capture '" + path + "': " + std::strerror(errno));
  }
  auto buffer = std::make_unique<char[]>(kReadBufferSize);
  std::setvbuf(file, buffer.get(), _IOFBF, kReadBufferSize);
  pcap_t* handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_MICRO,
                                                            errbuf);
  if (handle == nullptr) {
    if (file != stdin) std::fclose(file);
    return make_error("cannot read capture '" + path + "': " + errbuf);
  }
  if (!filter.empty()) {
    bpf_program program{};
    if (pcap_compile(handle, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string why = pcap_geterr(handle);
      pcap_close(handle);
      return make_error("-f: expected a pcap-filter expression (as for tcpdump), got '" + filter +
                        "': " + why);
    }
    const int rc = pcap_setfilter(handle, &program);
    pcap_freecode(&program);
    if (rc != 0) {
      std::string why = pcap_geterr(handle);
      pcap_close(handle);
      return make_error("-f '" + filter + "': cannot apply the filter to '" + path + "': " + why);
    }
  }
  std::uint64_t size = 0;
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
  }
  auto link = static_cast<LinkType>(pcap_datalink(handle));
  return std::unique_ptr<PcapFileSource>(new PcapFileSource(handle, std::move(buffer), path, link, size));
}

PcapFileSource::PcapFileSource(pcap_t* handle, std::unique_ptr<char[]> buffer, std::string path,
                               LinkType link,
                               std::uint64_t size)
    : read_buffer_(std::move(buffer)), handle_(handle), path_(std::move(path)), link_(link), file_size_(size) {}

PcapFileSource::~PcapFileSource() { pcap_close(handle_); }

Result<void> PcapFileSource::run(FrameHandler& handler, const std::atomic<bool>& stop) {
  FILE* file = pcap_file(handle_);
  while (!stop.load(std::memory_order_relaxed)) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc == PCAP_ERROR) {
      // libpcap reports a record cut short by the end of the file as an error; what came
      // before it was delivered, so a truncated capture is not a failure of the run.
      truncated_file_ = true;
      break;
    }
    if (rc != 1) continue;
    Frame frame;
    frame.ts = Timestamp::from_seconds(hdr->ts.tv_sec, hdr->ts.tv_usec);
    frame.wire_len = hdr->len;
    frame.link = link_;
    frame.bytes = ByteView(data, hdr->caplen);
    frames_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(hdr->caplen, std::memory_order_relaxed);
    // Progress for the summary and metrics: a position query per 4096 frames, not per
    // frame (each one is a system call).
    if (file != nullptr && (frames_.load(std::memory_order_relaxed) & 4095) == 0) {
      long pos = std::ftell(file);
      if (pos >= 0) read_.store(static_cast<std::uint64_t>(pos), std::memory_order_relaxed);
    }
    handler.on_frame(frame);
  }
  return {};
}

SourceStats PcapFileSource::stats() const {
  SourceStats s;
  s.frames = frames_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.truncated = truncated_file_ ? 1 : 0;
  s.input_bytes_read = read_.load(std::memory_order_relaxed);
  s.input_bytes_total = file_size_;
  return s;
}

}  // namespace offpath
