// offpath_gen_capture: writes a large synthetic HTTP/1.1 capture (classic pcap, Ethernet,
// microsecond timestamps) for benchmarks. Reproducible: the same flags and seed give the
// same file, byte for byte, on any platform (own PRNG, no std distributions).
//
// Traffic: `--connections` keep-alive connections open at once, their packets interleaved
// at random; each connection opens with a handshake, carries 1..`--max-requests`
// exchanges (GET, or POST with a small body), then closes with FIN. Response bodies are
// 200 B to 64 KB (log-uniform), sent in MSS-sized segments; a fraction is chunked, a
// fraction are errors (404/500/503). Optional reordering (swap two adjacent data segments)
// and loss (drop a data segment) per data segment. The file grows until `--size-mb`;
// open connections are then finished and closed.
//
// --h2c writes the same traffic as HTTP/2 with prior knowledge instead: each connection
// opens with the client preface, SETTINGS (and a connection WINDOW_UPDATE, so that flow
// control never stalls) and the server's SETTINGS; each exchange is the next stream
// (1, 3, 5, ...): a HEADERS frame (plus one DATA frame for a POST), answered by HEADERS
// and DATA frames of at most 16384 bytes, END_STREAM on the last. Header blocks are HPACK
// with static-table indices and literal values, no Huffman, no dynamic table; --chunked
// has no meaning there.
//
// Usage: offpath_gen_capture -o FILE [--size-mb 1024] [--seed 1] [--connections 2000]
//        [--chunked 0.2] [--errors 0.1] [--reorder 0] [--loss 0] [--max-requests 40]
//        [--h2c]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Rng {  // splitmix64: tiny, fast, and the same everywhere
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(double p) { return p > 0 && unit() < p; }
};

struct Options {
  std::string out;
  std::uint64_t size_bytes = 1024ull << 20;
  std::uint64_t seed = 1;
  unsigned connections = 2000;
  unsigned max_requests = 40;
  double chunked = 0.2;
  double errors = 0.1;
  double reorder = 0.0;
  double loss = 0.0;
  bool h2c = false;
};

constexpr std::size_t kMss = 1448;
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

struct Packet {
  bool from_client;
  std::uint8_t flags;
  std::uint32_t seq;
  std::uint32_t ack;
  std::uint32_t offset;  // into the connection's request or response bytes
  std::uint32_t length;
  bool response_bytes;
};

struct Conn {
  std::uint32_t client_ip;
  std::uint32_t server_ip;
  std::uint16_t client_port;
  std::uint16_t server_port;
  std::uint32_t cseq;  // next client sequence number
  std::uint32_t sseq;
  unsigned requests_left;
  std::string request;
  std::string response;
  std::deque<Packet> pending;
  bool closed = false;
  std::uint32_t stream_id = 1;  // --h2c: the next stream
  bool settings_acked = false;  // --h2c: the client has acknowledged the server's SETTINGS
};

// HTTP/2 framing and HPACK for --h2c (RFC 9113, RFC 7541).
constexpr std::uint8_t kH2Data = 0x0, kH2Headers = 0x1, kH2Settings = 0x4, kH2WindowUpdate = 0x8;
constexpr std::uint8_t kH2EndStream = 0x1, kH2EndHeaders = 0x4, kH2Ack = 0x1;
constexpr std::size_t kH2MaxFrame = 16384;

void h2_frame(std::string& out, std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
              std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  const char head[9] = {static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n),
                        static_cast<char>(type), static_cast<char>(flags),
                        static_cast<char>(stream >> 24 & 0x7f), static_cast<char>(stream >> 16),
                        static_cast<char>(stream >> 8), static_cast<char>(stream)};
  out.append(head, 9);
  out += payload;
}

// An HPACK integer with an N-bit prefix whose high bits are `first`.
void hpack_int(std::string& out, std::uint8_t first, int prefix_bits, std::size_t v) {
  const std::size_t max = (1u << prefix_bits) - 1;
  if (v < max) {
    out += static_cast<char>(first | v);
    return;
  }
  out += static_cast<char>(first | max);
  for (v -= max; v >= 128; v >>= 7) out += static_cast<char>(0x80 | (v & 0x7f));
  out += static_cast<char>(v);
}

// Literal header field without indexing, name from static-table entry `index`.
void hpack_literal(std::string& out, std::size_t index, std::string_view value) {
  hpack_int(out, 0x00, 4, index);
  hpack_int(out, 0x00, 7, value.size());  // H = 0: no Huffman
  out += value;
}

// Static-table entries (RFC 7541 appendix A) used here.
constexpr std::size_t kHpAuthority = 1, kHpMethodGet = 2, kHpMethodPost = 3, kHpPath = 4,
                      kHpSchemeHttp = 6, kHpStatus = 8, kHpAccept = 19,
                      kHpContentLength = 28, kHpContentType = 31, kHpServer = 54,
                      kHpUserAgent = 58;

class Writer {
 public:
  explicit Writer(FILE* f) : f_(f), buf_(new char[kBuf]) {
    std::setvbuf(f_, buf_.get(), _IOFBF, kBuf);
    const std::uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
    std::fwrite(hdr, 1, sizeof hdr, f_);  // magic, v2.4, zone, sigfigs, snaplen, Ethernet
    written_ = sizeof hdr;
  }
  void packet(std::uint64_t ts_us, const Conn& c, const Packet& p) {
    const std::string& src = p.response_bytes ? c.response : c.request;
    const std::uint32_t len = 14 + 20 + 20 + p.length;
    std::uint8_t h[16 + 54];
    put32le(h + 0, static_cast<std::uint32_t>(ts_us / 1'000'000));
    put32le(h + 4, static_cast<std::uint32_t>(ts_us % 1'000'000));
    put32le(h + 8, len);
    put32le(h + 12, len);
    std::uint8_t* e = h + 16;
    static const std::uint8_t kClientMac[6] = {0x02, 0, 0, 0, 0, 1};
    static const std::uint8_t kServerMac[6] = {0x02, 0, 0, 0, 0, 2};
    std::memcpy(e, p.from_client ? kServerMac : kClientMac, 6);
    std::memcpy(e + 6, p.from_client ? kClientMac : kServerMac, 6);
    e[12] = 0x08;
    e[13] = 0x00;
    std::uint8_t* ip = e + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16be(ip + 2, static_cast<std::uint16_t>(20 + 20 + p.length));
    put16be(ip + 4, static_cast<std::uint16_t>(ip_id_++));
    put16be(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put16be(ip + 10, 0);
    put32be(ip + 12, p.from_client ? c.client_ip : c.server_ip);
    put32be(ip + 16, p.from_client ? c.server_ip : c.client_ip);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16be(ip + 10, static_cast<std::uint16_t>(~sum));
    std::uint8_t* tcp = ip + 20;
    put16be(tcp + 0, p.from_client ? c.client_port : c.server_port);
    put16be(tcp + 2, p.from_client ? c.server_port : c.client_port);
    put32be(tcp + 4, p.seq);
    put32be(tcp + 8, p.ack);
    tcp[12] = 5 << 4;
    tcp[13] = p.flags;
    put16be(tcp + 14, 65535);
    put16be(tcp + 16, 0);  // checksum not computed (offload style); nobody here checks it
    put16be(tcp + 18, 0);
    std::fwrite(h, 1, sizeof h, f_);
    if (p.length != 0) std::fwrite(src.data() + p.offset, 1, p.length, f_);
    written_ += sizeof h + p.length;
    ++packets_;
  }
  std::uint64_t written() const { return written_; }
  std::uint64_t packets() const { return packets_; }

 private:
  static constexpr std::size_t kBuf = 4 << 20;
  static void put16be(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
  }
  static void put32be(std::uint8_t* p, std::uint32_t v) {
    put16be(p, static_cast<std::uint16_t>(v >> 16));
    put16be(p + 2, static_cast<std::uint16_t>(v));
  }
  static void put32le(std::uint8_t* p, std::uint32_t v) { std::memcpy(p, &v, 4); }  // host order
  FILE* f_;
  std::unique_ptr<char[]> buf_;
  std::uint64_t written_ = 0;
  std::uint64_t packets_ = 0;
  std::uint32_t ip_id_ = 0;
};

class Generator {
 public:
  explicit Generator(const Options& o) : o_(o), rng_{o.seed} {
    text_.reserve(70000);
    static const char* kWords[] = {"alpha ", "bravo ", "charlie ", "delta ", "echo ",
                                   "foxtrot ", "golf ", "hotel ", "india ", "{\"k\":42} "};
    while (text_.size() < 70000) text_ += kWords[rng_.below(10)];
  }

  std::uint64_t exchanges() const { return exchanges_; }
  std::uint64_t exchanges_with_loss() const { return exchanges_with_loss_; }

  void run(Writer& w) {
    std::vector<Conn> conns(o_.connections);
    for (auto& c : conns) open(c);
    std::uint64_t ts = 1'700'000'000'000'000ull;
    std::size_t live = conns.size();
    while (live != 0) {
      Conn& c = conns[rng_.below(conns.size())];
      if (c.closed) {
        // Closed slots are skipped at random; scan for the next open one instead.
        continue_scan(conns, c, live, ts, w);
        continue;
      }
      step(c, w, ts);
      if (c.closed) --live;
    }
  }

 private:
  void continue_scan(std::vector<Conn>& conns, Conn& from, std::size_t& live, std::uint64_t& ts,
                     Writer& w) {
    std::size_t i = static_cast<std::size_t>(&from - conns.data());
    for (std::size_t k = 0; k < conns.size(); ++k) {
      Conn& c = conns[(i + k) % conns.size()];
      if (c.closed) continue;
      step(c, w, ts);
      if (c.closed) --live;
      return;
    }
  }

  void open(Conn& c) {
    c.client_ip = 0x0a010000u + static_cast<std::uint32_t>(rng_.below(60000)) + 1;
    c.server_ip = 0x0a000001u + static_cast<std::uint32_t>(rng_.below(8));
    c.client_port = static_cast<std::uint16_t>(1024 + (next_port_++ % 64000));
    c.server_port = rng_.chance(0.5) ? 80 : 8080;
    c.cseq = static_cast<std::uint32_t>(rng_.next());
    c.sseq = static_cast<std::uint32_t>(rng_.next());
    c.requests_left = 1 + static_cast<unsigned>(rng_.below(o_.max_requests));
    c.closed = false;
    c.stream_id = 1;
    c.settings_acked = false;
    c.pending.clear();
    c.pending.push_back({true, kSyn, c.cseq, 0, 0, 0, false});
    c.pending.push_back({false, kSyn | kAck, c.sseq, c.cseq + 1, 0, 0, false});
    c.pending.push_back({true, kAck, c.cseq + 1, c.sseq + 1, 0, 0, false});
    ++c.cseq;
    ++c.sseq;
  }

  void step(Conn& c, Writer& w, std::uint64_t& ts) {
    if (c.pending.empty()) plan(c, w);
    if (c.pending.empty()) return;
    ts += 1 + rng_.below(20);
    w.packet(ts, c, c.pending.front());
    c.pending.pop_front();
    if (c.pending.empty() && c.requests_left == 0 && finishing_(c)) {
      // Closed for good, or reopened on a fresh port while the file still grows.
      if (done_) {
        c.closed = true;
      } else {
        open(c);
      }
    }
  }

  bool finishing_(const Conn& c) const { return c.request.empty(); }

  // Queues the packets of the next exchange, or of the close.
  void plan(Conn& c, Writer& w) {
    if (w.written() >= o_.size_bytes) done_ = true;
    if (c.requests_left == 0 || done_) {
      c.requests_left = 0;
      c.request.clear();
      c.pending.push_back({true, kFin | kAck, c.cseq, c.sseq, 0, 0, false});
      c.pending.push_back({false, kFin | kAck, c.sseq, c.cseq + 1, 0, 0, false});
      c.pending.push_back({true, kAck, c.cseq + 1, c.sseq + 1, 0, 0, false});
      return;
    }
    --c.requests_left;
    const bool post = rng_.chance(0.2);
    std::string path = "/api/v1/items/" + std::to_string(rng_.below(100000));
    if (o_.h2c) {
      plan_h2c(c, post, path);
    } else {
      plan_http1(c, post, path);
    }
    queue_exchange(c);
  }

  void plan_http1(Conn& c, bool post, const std::string& path) {
    c.request = post ? "POST " : "GET ";
    c.request += path;
    c.request += " HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: offpath-gen/1\r\n"
                 "Accept: */*\r\n";
    std::string body;
    if (post) {
      body = text_.substr(rng_.below(1000), 100 + rng_.below(400));
      c.request += "Content-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n";
    }
    c.request += "\r\n";
    c.request += body;

    // Body size: log-uniform in [200, 65536].
    const std::size_t size =
        static_cast<std::size_t>(200.0 * std::exp(rng_.unit() * std::log(65536.0 / 200.0)));
    const bool chunked = rng_.chance(o_.chunked);
    int status = 200;
    if (rng_.chance(o_.errors)) {
      static const int kErrors[] = {404, 500, 503};
      status = kErrors[rng_.below(3)];
    }
    std::string_view content(text_.data() + rng_.below(4000), size);
    c.response = "HTTP/1.1 " + std::to_string(status) +
                 (status == 200 ? " OK" : status == 404 ? " Not Found"
                                      : status == 500 ? " Internal Server Error"
                                                      : " Service Unavailable");
    c.response += "\r\nServer: gen\r\nContent-Type: text/plain\r\n";
    if (chunked) {
      c.response += "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t off = 0; off < content.size(); off += 8192) {
        std::size_t n = std::min<std::size_t>(8192, content.size() - off);
        char hex[16];
        std::snprintf(hex, sizeof hex, "%zx\r\n", n);
        c.response += hex;
        c.response += content.substr(off, n);
        c.response += "\r\n";
      }
      c.response += "0\r\n\r\n";
    } else {
      c.response += "Content-Length: " + std::to_string(content.size()) + "\r\n\r\n";
      c.response += content;
    }

  }

  // The same choices as plan_http1, in the same order of draws, framed as one stream.
  void plan_h2c(Conn& c, bool post, const std::string& path) {
    c.request.clear();
    c.response.clear();
    if (c.stream_id == 1) {
      c.request = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      static const char kClientSettings[] = {0, 4, 0x7f, static_cast<char>(0xff),
                                             static_cast<char>(0xff), static_cast<char>(0xff)};
      h2_frame(c.request, kH2Settings, 0, 0, std::string_view(kClientSettings, 6));
      static const char kIncrement[] = {0x7f, static_cast<char>(0xff), 0, 0};
      h2_frame(c.request, kH2WindowUpdate, 0, 0, std::string_view(kIncrement, 4));
      static const char kServerSettings[] = {0, 3, 0, 0, 0, 100};  // MAX_CONCURRENT_STREAMS
      h2_frame(c.response, kH2Settings, 0, 0, std::string_view(kServerSettings, 6));
      h2_frame(c.response, kH2Settings, kH2Ack, 0, {});
    } else if (!c.settings_acked) {
      h2_frame(c.request, kH2Settings, kH2Ack, 0, {});
      c.settings_acked = true;
    }
    const std::uint32_t id = c.stream_id;
    c.stream_id += 2;
    std::string block;
    hpack_int(block, 0x80, 7, post ? kHpMethodPost : kHpMethodGet);
    hpack_int(block, 0x80, 7, kHpSchemeHttp);
    hpack_literal(block, kHpPath, path);
    hpack_literal(block, kHpAuthority, "bench.example");
    hpack_literal(block, kHpUserAgent, "offpath-gen/1");
    hpack_literal(block, kHpAccept, "*/*");
    std::string body;
    if (post) {
      body = text_.substr(rng_.below(1000), 100 + rng_.below(400));
      hpack_literal(block, kHpContentType, "application/json");
      hpack_literal(block, kHpContentLength, std::to_string(body.size()));
    }
    h2_frame(c.request, kH2Headers, kH2EndHeaders | (post ? 0 : kH2EndStream), id, block);
    if (post) h2_frame(c.request, kH2Data, kH2EndStream, id, body);

    const std::size_t size =
        static_cast<std::size_t>(200.0 * std::exp(rng_.unit() * std::log(65536.0 / 200.0)));
    (void)rng_.chance(o_.chunked);  // drawn as for HTTP/1.x, so both files make the same choices
    int status = 200;
    if (rng_.chance(o_.errors)) {
      static const int kErrors[] = {404, 500, 503};
      status = kErrors[rng_.below(3)];
    }
    std::string_view content(text_.data() + rng_.below(4000), size);
    block.clear();
    hpack_literal(block, kHpStatus, std::to_string(status));
    hpack_literal(block, kHpServer, "gen");
    hpack_literal(block, kHpContentType, "text/plain");
    hpack_literal(block, kHpContentLength, std::to_string(content.size()));
    h2_frame(c.response, kH2Headers, kH2EndHeaders, id, block);
    for (std::size_t off = 0; off < content.size(); off += kH2MaxFrame) {
      const std::size_t n = std::min(kH2MaxFrame, content.size() - off);
      h2_frame(c.response, kH2Data, off + n == content.size() ? kH2EndStream : 0, id,
               content.substr(off, n));
    }
  }

  // Request (one segment up to the MSS, more if larger), then the response segments.
  void queue_exchange(Conn& c) {
    for (std::size_t off = 0; off < c.request.size(); off += kMss) {
      auto n = static_cast<std::uint32_t>(std::min(kMss, c.request.size() - off));
      c.pending.push_back({true, kPsh | kAck, c.cseq, c.sseq, static_cast<std::uint32_t>(off), n,
                           false});
      c.cseq += n;
    }
    std::vector<Packet> data;
    for (std::size_t off = 0; off < c.response.size(); off += kMss) {
      auto n = static_cast<std::uint32_t>(std::min(kMss, c.response.size() - off));
      data.push_back({false, kAck, c.sseq, c.cseq, static_cast<std::uint32_t>(off), n, true});
      c.sseq += n;
    }
    if (!data.empty()) data[data.size() - 1].flags |= kPsh;
    for (std::size_t i = 0; i + 1 < data.size(); ++i) {
      if (rng_.chance(o_.reorder)) std::swap(data[i], data[i + 1]), ++i;
    }
    ++exchanges_;
    bool lost = false;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (rng_.chance(o_.loss)) {
        lost = true;
        continue;
      }
      c.pending.push_back(data[i]);
      if (i % 2 == 1) c.pending.push_back({true, kAck, c.cseq, data[i].seq + data[i].length, 0, 0,
                                           false});  // delayed ACK: every other segment
    }
    c.pending.push_back({true, kAck, c.cseq, c.sseq, 0, 0, false});
    if (lost) ++exchanges_with_loss_;
  }

  Options o_;
  Rng rng_;
  std::string text_;
  std::uint32_t next_port_ = 0;
  bool done_ = false;
  std::uint64_t exchanges_ = 0;
  std::uint64_t exchanges_with_loss_ = 0;  // a response segment was dropped (--loss)
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "offpath_gen_capture: %s\nusage: offpath_gen_capture -o FILE [--size-mb N] "
               "[--seed N] [--connections N] [--max-requests N] [--chunked F] [--errors F] "
               "[--reorder F] [--loss F] [--h2c]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--h2c") {
      o.h2c = true;
      continue;
    }
    if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
    const char* v = argv[++i];
    if (a == "-o" || a == "--out") o.out = v;
    else if (a == "--size-mb") o.size_bytes = std::strtoull(v, nullptr, 10) << 20;
    else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--connections") o.connections = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (a == "--max-requests") o.max_requests = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (a == "--chunked") o.chunked = std::strtod(v, nullptr);
    else if (a == "--errors") o.errors = std::strtod(v, nullptr);
    else if (a == "--reorder") o.reorder = std::strtod(v, nullptr);
    else if (a == "--loss") o.loss = std::strtod(v, nullptr);
    else usage(("unknown flag " + std::string(a)).c_str());
  }
  if (o.out.empty()) usage("-o FILE is required");
  if (o.connections == 0 || o.max_requests == 0) usage("--connections and --max-requests must be > 0");
  FILE* f = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
  if (f == nullptr) usage(("cannot write " + o.out).c_str());
  Writer w(f);
  Generator g(o);
  g.run(w);
  std::fprintf(stderr,
               "offpath_gen_capture: %s: %llu packets, %llu bytes, exchanges=%llu "
               "exchanges_with_loss=%llu\n",
               o.out.c_str(), static_cast<unsigned long long>(w.packets()),
               static_cast<unsigned long long>(w.written()),
               static_cast<unsigned long long>(g.exchanges()),
               static_cast<unsigned long long>(g.exchanges_with_loss()));
  if (std::fflush(f) != 0) return 1;
  if (f != stdout) std::fclose(f);
  return 0;
}
