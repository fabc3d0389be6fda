#include "capture/live_source.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstring>

#include "capture/pcap_live_source.hpp"
#ifdef OFFPATH_HAVE_EBPF
#include "capture/ebpf_source.hpp"
#endif

namespace offpath {

Result<std::unique_ptr<Source>> make_live_source(const LiveCaptureOptions& options) {
  if (options.interfaces.empty()) {
    return make_error("live capture needs at least one interface (-i)");
  }
  if (options.backend == CaptureBackend::Ebpf) {
#ifdef OFFPATH_HAVE_EBPF
    auto source = EbpfSource::open(options);
    if (!source) return source.error();
    return std::unique_ptr<Source>(std::move(source.value()));
#else
    return make_error("--capture ebpf: this build has no eBPF support (OFFPATH_EBPF=OFF)");
#endif
  }
  auto source = PcapLiveSource::open(options);
  if (!source) return source.error();
  return std::unique_ptr<Source>(std::move(source.value()));
}

Result<Cidr> parse_cidr(const std::string& text) {
  Cidr cidr;
  cidr.text = text;
  std::string address = text;
  int prefix = -1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    address = text.substr(0, slash);
    std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return make_error("bad network '" + text + "': prefix length is not a number");
    }
    prefix = std::stoi(digits);
  }
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    if (prefix > 32) return make_error("bad network '" + text + "': prefix above 32");
    if (prefix < 0) prefix = 32;
    cidr.ipv4 = true;
    cidr.addr[10] = 0xff;
    cidr.addr[11] = 0xff;
    std::memcpy(&cidr.addr[12], &v4, 4);
    cidr.prefix = static_cast<unsigned>(prefix) + 96;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (prefix > 128) return make_error("bad network '" + text + "': prefix above 128");
    if (prefix < 0) prefix = 128;
    std::memcpy(cidr.addr.data(), &v6, 16);
    cidr.prefix = static_cast<unsigned>(prefix);
  } else {
    return make_error("bad network '" + text + "': not an IPv4 or IPv6 address");
  }
  for (unsigned bit = cidr.prefix; bit < 128; ++bit) {
    cidr.addr[bit / 8] = static_cast<std::uint8_t>(cidr.addr[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return cidr;
}

std::string Cidr::normalized() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ipv4) {
    ::inet_ntop(AF_INET, &addr[12], buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix - 96);
  }
  ::inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

namespace {

// "(src net A or src net B)" for one direction keyword; empty for no networks.
std::string nets_clause(const std::vector<Cidr>& nets, const char* dir) {
  std::string out;
  for (const auto& net : nets) {
    out += out.empty() ? "(" : " or ";
    out += std::string(dir) + " net " + net.normalized();
  }
  if (!out.empty()) out += ")";
  return out;
}

std::string ports_clause(const std::vector<std::uint16_t>& ports, const char* dir) {
  std::string out;
  for (auto port : ports) {
    out += out.empty() ? "(" : " or ";
    out += std::string(dir) + " port " + std::to_string(port);
  }
  if (!out.empty()) out += ")";
  return out;
}

std::string conjunction(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += " and ";
    out += part;
  }
  return out;
}

}  // namespace

Result<std::string> build_pcap_filter(const LiveCaptureOptions& options) {
  std::vector<Cidr> clients, servers;
  for (const auto& text : options.client_cidrs) {
    auto cidr = parse_cidr(text);
    if (!cidr) return make_error("--client: " + cidr.error().message);
    clients.push_back(cidr.value());
  }
  for (const auto& text : options.server_cidrs) {
    auto cidr = parse_cidr(text);
    if (!cidr) return make_error("--server: " + cidr.error().message);
    servers.push_back(cidr.value());
  }
  std::string ours;
  if (!options.ports.empty() || !clients.empty() || !servers.empty()) {
    std::string forward = conjunction({"tcp", ports_clause(options.ports, "dst"),
                                       nets_clause(clients, "src"),
                                       nets_clause(servers, "dst")});
    std::string reverse = conjunction({"tcp", ports_clause(options.ports, "src"),
                                       nets_clause(clients, "dst"),
                                       nets_clause(servers, "src")});
    ours = "((" + forward + ") or (" + reverse + "))";
  }
  if (options.filter.empty()) return ours;
  if (ours.empty()) return options.filter;
  return "(" + options.filter + ") and " + ours;
}

Result<std::unique_ptr<PcapWriter>> PcapWriter::open(const std::string& path, LinkType link,
                                                     int snaplen) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(static_cast<int>(link), snaplen,
                                                      PCAP_TSTAMP_PRECISION_MICRO);
  if (dead == nullptr) return make_error("-w " + path + ": cannot create a pcap writer");
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  if (dumper == nullptr) {
    std::string why = pcap_geterr(dead);
    pcap_close(dead);
    return make_error("-w " + path + ": " + why);
  }
  return std::unique_ptr<PcapWriter>(new PcapWriter(dead, dumper, path));
}

PcapWriter::PcapWriter(pcap_t* dead, pcap_dumper_t* dumper, std::string path)
    : dead_(dead), dumper_(dumper), path_(std::move(path)) {}

PcapWriter::~PcapWriter() {
  pcap_dump_close(dumper_);  // flushes
  pcap_close(dead_);
}

void PcapWriter::write(const Frame& frame) {
  pcap_pkthdr hdr{};
  hdr.ts.tv_sec = static_cast<time_t>(frame.ts.micros / 1'000'000);
  hdr.ts.tv_usec = static_cast<suseconds_t>(frame.ts.micros % 1'000'000);
  hdr.caplen = static_cast<bpf_u_int32>(frame.bytes.size());
  hdr.len = frame.wire_len;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &hdr, frame.bytes.data());
}

Result<void> PcapWriter::flush() {
  if (pcap_dump_flush(dumper_) != 0) {
    return make_error("-w " + path_ + ": write failed: " + std::strerror(errno));
  }
  return {};
}

}  // namespace offpath
