#include "capture/pcap_file_source.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace offpath {
namespace {

constexpr std::size_t kRecordHeader = 16;   // ts_sec, ts_frac, caplen, len
constexpr std::uint32_t kMaxCaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN

}  // namespace

// Whether the file behind `fd` is classic pcap 2.4 that the in-place reader handles;
// libpcap has opened it already (and validated its header).
PcapFileSource::InPlace PcapFileSource::in_place_format(int fd, pcap_t* handle) {
  InPlace f;
  std::uint8_t header[24];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return f;
  std::uint32_t magic;
  std::memcpy(&magic, header, sizeof magic);
  switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xa1b23c4d: f.nanoseconds = true; break;
    case 0xd4c3b2a1: f.swapped = true; break;
    case 0x4d3cb2a1: f.swapped = f.nanoseconds = true; break;
    default: return f;  // pcapng, modified pcap and others: libpcap alone
  }
  if (pcap_major_version(handle) != 2 || pcap_minor_version(handle) != 4) return f;
  const int snaplen = pcap_snapshot(handle);
  f.max_caplen = snaplen > 0 ? std::min(static_cast<std::uint32_t>(snaplen), kMaxCaplen) : 0;
  f.enabled = f.max_caplen > 0;
  return f;
}

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
                                                             const std::string& filter,
                                                             bool in_place) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  // Our own FILE with a large buffer: libpcap's default stdio buffer turns a replay into
  // one read() system call per few packets.
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return make_error("cannot read capture '" + path + "': " + std::strerror(errno));
  }
  auto buffer = std::make_unique_for_overwrite<char[]>(kReadBufferSize);
  std::setvbuf(file, buffer.get(), _IOFBF, kReadBufferSize);
  pcap_t* handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_MICRO,
                                                            errbuf);
  if (handle == nullptr) {
    if (file != stdin) std::fclose(file);
    return make_error("cannot read capture '" + path + "': " + errbuf);
  }
  auto program = std::make_unique<bpf_program>();
  if (!filter.empty()) {
    if (pcap_compile(handle, program.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string why = pcap_geterr(handle);
      pcap_close(handle);
      return make_error("-f: expected a pcap-filter expression (as for tcpdump), got '" + filter +
                        "': " + why);
    }
    if (pcap_setfilter(handle, program.get()) != 0) {
      std::string why = pcap_geterr(handle);
      pcap_freecode(program.get());
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
  auto source = std::unique_ptr<PcapFileSource>(
      new PcapFileSource(handle, std::move(buffer), path, link, size));
  if (!filter.empty()) source->filter_ = std::move(program);
  if (in_place && size > 0) source->in_place_ = in_place_format(fileno(file), handle);
  return source;
}

PcapFileSource::PcapFileSource(pcap_t* handle, std::unique_ptr<char[]> buffer, std::string path,
                               LinkType link,
                               std::uint64_t size)
    : read_buffer_(std::move(buffer)), handle_(handle), path_(std::move(path)), link_(link), file_size_(size) {}

PcapFileSource::~PcapFileSource() {
  if (filter_) pcap_freecode(filter_.get());
  pcap_close(handle_);
}

void PcapFileSource::deliver(FrameHandler& handler, const Frame& frame) {
  // One writer: a relaxed load and store, not a locked read-modify-write per frame.
  frames_.store(frames_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  bytes_.store(bytes_.load(std::memory_order_relaxed) + frame.bytes.size(),
               std::memory_order_relaxed);
  handler.on_frame(frame);
}

std::optional<std::uint64_t> PcapFileSource::run_in_place(FrameHandler& handler,
                                                          const std::atomic<bool>& stop) {
  const int fd = fileno(pcap_file(handle_));
  auto block = std::make_unique_for_overwrite<std::uint8_t[]>(kReadBufferSize);
  std::uint8_t* buf = block.get();
  std::uint64_t base = in_place_.offset;  // file offset of buf[0]
  std::size_t pos = 0;
  std::size_t end = 0;
  // At least `need` bytes from pos on, or false at the end of the file (or an error,
  // which libpcap then meets and reports itself).
  auto have = [&](std::size_t need) {
    if (end - pos >= need) return true;
    std::memmove(buf, buf + pos, end - pos);
    base += pos;
    end -= pos;
    pos = 0;
    while (end < need) {
      const ssize_t n = ::pread(fd, buf + end, kReadBufferSize - end,
                                static_cast<off_t>(base + end));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      end += static_cast<std::size_t>(n);
    }
    return true;
  };
  auto field = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, buf + pos + at, sizeof v);
    return in_place_.swapped ? __builtin_bswap32(v) : v;
  };
  while (!stop.load(std::memory_order_relaxed)) {
    if (!have(kRecordHeader)) return end == pos ? std::nullopt : std::optional(base + pos);
    const std::uint32_t caplen = field(8);
    if (caplen > in_place_.max_caplen || !have(kRecordHeader + caplen)) return base + pos;
    // Signed, as libpcap reads them (struct pcap_timeval holds 32-bit signed fields).
    const auto sec = static_cast<std::int32_t>(field(0));
    const auto frac = static_cast<std::int32_t>(field(4));
    Frame frame;
    frame.ts = Timestamp::from_seconds(sec, in_place_.nanoseconds ? frac / 1000 : frac);
    frame.wire_len = field(12);
    frame.link = link_;
    frame.bytes = ByteView(buf + pos + kRecordHeader, caplen);
    pos += kRecordHeader + caplen;
    read_.store(base + pos, std::memory_order_relaxed);
    if (filter_) {
      pcap_pkthdr hdr{};
      hdr.caplen = caplen;
      hdr.len = frame.wire_len;
      if (pcap_offline_filter(filter_.get(), &hdr, frame.bytes.data()) == 0) continue;
    }
    deliver(handler, frame);
  }
  return std::nullopt;
}

Result<void> PcapFileSource::run(FrameHandler& handler, const std::atomic<bool>& stop) {
  FILE* file = pcap_file(handle_);
  if (in_place_.enabled) {
    const std::optional<std::uint64_t> handover = run_in_place(handler, stop);
    if (!handover) return {};
    if (::fseeko(file, static_cast<off_t>(*handover), SEEK_SET) != 0) {
      return make_error("cannot read capture '" + path_ + "': " + std::strerror(errno));
    }
  }
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
    // Progress for the summary and metrics: a position query per 4096 frames, not per
    // frame (each one is a system call).
    if (file != nullptr && (frames_.load(std::memory_order_relaxed) & 4095) == 0) {
      long pos = std::ftell(file);
      if (pos >= 0) read_.store(static_cast<std::uint64_t>(pos), std::memory_order_relaxed);
    }
    deliver(handler, frame);
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
