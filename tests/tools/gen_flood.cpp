// offpath_gen_flood: writes captures of hostile traffic for the memory tests
// (tests/replay/memory_floods.py): many clients that open connections and never let them
// finish, each kind aimed at a different part of what offpath holds. Classic pcap,
// Ethernet, IPv4, microsecond timestamps; the same arguments give the same file.
//
// Kinds (N connections, all open at once, one server 10.99.0.1:80):
//  syn          one SYN each, never answered
//  half-open    SYN, then one segment `GET /flood HTTP/1.1` + Host, never answered
//  ooo BYTES    SYN, then BYTES of data beyond a 100-byte hole that never fills
//  slow BYTES   SYN, then a request line and headers one byte per packet, round-robin
//               over the connections, BYTES bytes each, the header block never ended
//  headers BYTES SYN, then BYTES of headers in full-size segments, round-robin, the
//               header block never ended
//  shed         for the shedding steps under a small --memory-limit, three phases:
//               A: N connections, each a POST with a 512-byte body, every other one
//                  answered 200 (a success), all left open;
//               B: 100 connections, each sending 16 segments of 32 KB beyond a hole
//                  that never fills (out-of-order bytes grow faster than the eviction
//                  of phase A's small flows frees);
//               then 400 s of silence (flows time out), and
//               C: 100 complete exchanges (POST and 200, both with a 512-byte body),
//                  each connection closed.
// A gzip bomb is written by gen_gzip_bomb.py (it needs a compressor).
//
// Usage: offpath_gen_flood OUT.pcap KIND N [BYTES]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;
constexpr std::size_t kMss = 1448;
constexpr std::uint32_t kServer = 0x0a630001;  // 10.99.0.1
constexpr std::uint16_t kServerPort = 80;

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

class PcapOut {
 public:
  explicit PcapOut(const char* path) : f_(std::fopen(path, "wb")), buf_(new char[kBuf]) {
    if (f_ == nullptr) {
      std::perror(path);
      std::exit(1);
    }
    std::setvbuf(f_, buf_.get(), _IOFBF, kBuf);
    const std::uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
    std::fwrite(hdr, 1, sizeof hdr, f_);
  }
  ~PcapOut() { std::fclose(f_); }
  void advance(std::uint64_t seconds) { ts_us_ += seconds * 1'000'000; }
  PcapOut(const PcapOut&) = delete;
  PcapOut& operator=(const PcapOut&) = delete;

  // One TCP segment; `to_server` picks the direction of client `i`.
  void segment(std::uint32_t i, bool to_server, std::uint32_t seq, std::uint32_t ack,
               std::uint8_t flags, std::string_view payload) {
    ts_us_ += 10;
    const std::uint32_t client = 0x0a640000u + i / 60000 * 65536u + i % 60000 / 250 * 256u +
                                 i % 250 + 1;  // 10.100.x.y and up
    const std::uint16_t port = static_cast<std::uint16_t>(1024 + i % 60000);
    const std::uint32_t len = 14 + 20 + 20 + static_cast<std::uint32_t>(payload.size());
    std::uint8_t h[16 + 54] = {};
    const std::uint32_t rec[4] = {static_cast<std::uint32_t>(ts_us_ / 1'000'000),
                                  static_cast<std::uint32_t>(ts_us_ % 1'000'000), len, len};
    std::memcpy(h, rec, sizeof rec);  // record header in host order, as the magic says
    std::uint8_t* e = h + 16;
    e[0] = 0x02, e[5] = to_server ? 2 : 1, e[6] = 0x02, e[11] = to_server ? 1 : 2;
    e[12] = 0x08;
    std::uint8_t* ip = e + 14;
    ip[0] = 0x45;
    put16(ip + 2, 40 + static_cast<std::uint32_t>(payload.size()));
    put16(ip + 4, ip_id_++ & 0xffff);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, to_server ? client : kServer);
    put32(ip + 16, to_server ? kServer : client);
    std::uint32_t sum = 0;
    for (int k = 0; k < 20; k += 2) sum += static_cast<std::uint32_t>(ip[k] << 8 | ip[k + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, ~sum & 0xffff);
    std::uint8_t* tcp = ip + 20;
    put16(tcp, to_server ? port : kServerPort);
    put16(tcp + 2, to_server ? kServerPort : port);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    std::fwrite(h, 1, sizeof h, f_);
    std::fwrite(payload.data(), 1, payload.size(), f_);
  }

 private:
  static constexpr std::size_t kBuf = 4 << 20;
  FILE* f_;
  std::unique_ptr<char[]> buf_;
  std::uint64_t ts_us_ = 1'700'000'000'000'000ULL;
  std::uint32_t ip_id_ = 0;
};

// Client and server initial sequence numbers of connection i.
std::uint32_t cisn(std::uint32_t i) { return 1000 + i * 7919u; }
std::uint32_t sisn(std::uint32_t i) { return 5000 + i * 104729u; }

void syn(PcapOut& out, std::uint32_t i) { out.segment(i, true, cisn(i), 0, kSyn, {}); }

std::string header_bytes(std::uint32_t bytes) {
  std::string h = "GET /slow HTTP/1.1\r\nHost: flood.example\r\n";
  while (h.size() < bytes) {
    h += "X-Filler-" + std::to_string(h.size()) + ": ";
    h.append(std::min<std::size_t>(100, bytes > h.size() ? bytes - h.size() : 0), 'f');
    h += "\r\n";
  }
  h.resize(bytes);
  return h;
}

// Sends `data` of every connection in pieces of `piece` bytes, round-robin.
void round_robin(PcapOut& out, std::uint32_t n, const std::string& data, std::size_t piece) {
  for (std::size_t off = 0; off < data.size(); off += piece) {
    const std::size_t len = std::min(piece, data.size() - off);
    for (std::uint32_t i = 0; i < n; ++i) {
      out.segment(i, true, cisn(i) + 1 + static_cast<std::uint32_t>(off), sisn(i) + 1,
                  kAck | kPsh, std::string_view(data).substr(off, len));
    }
  }
}

void exchange(PcapOut& out, std::uint32_t i, const std::string& req, const std::string& resp,
              bool close) {
  out.segment(i, true, cisn(i), 0, kSyn, {});
  out.segment(i, false, sisn(i), cisn(i) + 1, kSyn | kAck, {});
  out.segment(i, true, cisn(i) + 1, sisn(i) + 1, kAck, {});
  const std::uint32_t c = cisn(i) + 1, s = sisn(i) + 1;
  for (std::size_t off = 0; off < req.size(); off += kMss) {
    out.segment(i, true, c + static_cast<std::uint32_t>(off), s, kAck | kPsh,
                std::string_view(req).substr(off, kMss));
  }
  const std::uint32_t c_end = c + static_cast<std::uint32_t>(req.size());
  for (std::size_t off = 0; off < resp.size(); off += kMss) {
    out.segment(i, false, s + static_cast<std::uint32_t>(off), c_end, kAck | kPsh,
                std::string_view(resp).substr(off, kMss));
  }
  if (!close) return;
  const std::uint32_t s_end = s + static_cast<std::uint32_t>(resp.size());
  out.segment(i, true, c_end, s_end, kFin | kAck, {});
  out.segment(i, false, s_end, c_end + 1, kFin | kAck, {});
  out.segment(i, true, c_end + 1, s_end + 1, kAck, {});
}

int usage() {
  std::fprintf(stderr, "usage: offpath_gen_flood OUT.pcap syn|half-open|ooo|slow|headers|shed N "
                       "[BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string kind = argv[2];
  const auto n = static_cast<std::uint32_t>(std::strtoul(argv[3], nullptr, 10));
  const auto bytes = static_cast<std::uint32_t>(argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 0);
  PcapOut out(argv[1]);
  if (kind == "syn") {
    for (std::uint32_t i = 0; i < n; ++i) syn(out, i);
  } else if (kind == "half-open") {
    const std::string req = "GET /flood HTTP/1.1\r\nHost: flood.example\r\n\r\n";
    for (std::uint32_t i = 0; i < n; ++i) {
      syn(out, i);
      out.segment(i, true, cisn(i) + 1, 0, kAck | kPsh, req);
    }
  } else if (kind == "ooo") {
    const std::string filler(bytes, 'x');
    for (std::uint32_t i = 0; i < n; ++i) {
      syn(out, i);
      out.segment(i, true, cisn(i) + 1 + 100, 0, kAck | kPsh, filler);
    }
  } else if (kind == "slow" || kind == "headers") {
    for (std::uint32_t i = 0; i < n; ++i) syn(out, i);
    round_robin(out, n, header_bytes(bytes), kind == "slow" ? 1 : kMss);
  } else if (kind == "shed") {
    const std::string body(512, 'b');
    const std::string req = "POST /upload HTTP/1.1\r\nHost: shed.example\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\n\r\n" + body;
    for (std::uint32_t i = 0; i < n; ++i) exchange(out, i, req, i % 2 == 0 ? resp : "", false);
    const std::string chunk(32 * 1024, 'o');
    for (std::uint32_t i = n; i < n + 100; ++i) {
      syn(out, i);
      for (std::uint32_t k = 0; k < 16; ++k) {
        out.segment(i, true, cisn(i) + 1 + 100 + k * static_cast<std::uint32_t>(chunk.size()), 0,
                    kAck | kPsh, chunk);
      }
    }
    out.advance(400);
    for (std::uint32_t i = n + 100; i < n + 200; ++i) exchange(out, i, req, resp, true);
  } else {
    return usage();
  }
  return 0;
}
