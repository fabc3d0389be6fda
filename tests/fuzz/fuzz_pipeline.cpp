// libFuzzer target: decode + flow table + reassembly + HTTP parsing + pairing + encoding,
// in the shape of nodejs/llhttp's test/fuzzers/fuzz_parser.c. The first input byte picks
// the mode:
//   even: FRAMES. Bits 1..3 pick the link type (7: NFLOG); the rest is a list of frames, each as
//         [length: 2 bytes big-endian][time step: 1 byte, in 100 ms][bytes...], so that
//         headers, payloads and packet time (timeouts) are all under the fuzzer's control.
//   odd:  ORDER. A valid capture (handshake, pipelined requests with chunked and
//         Content-Length bodies, 100-continue, HEAD, responses, FIN) cut into small
//         segments; each following byte picks which remaining segment is sent next
//         (top bit set: drop it instead, the capture lost it; 0x40 set: send it twice).
// Records go to a sink that only checks that each one is non-empty JSON-looking text.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "support/packet_builder.hpp"
#include "support/tunnel_frames.hpp"
#include "support/sinks.hpp"

namespace {

using offpath::Config;
using offpath::Frame;
using offpath::LinkType;
using offpath::Outcome;
using offpath::Pipeline;
using offpath::Timestamp;
using offpath::testing::Packet;
using offpath::testing::PacketBuilder;
namespace f = offpath::tcp_flags;

constexpr LinkType kLinks[8] = {LinkType::Ethernet, LinkType::LinuxSll,  LinkType::LinuxSll2,
                                LinkType::Raw,      LinkType::Null,      LinkType::Loop,
                                LinkType::RawDlt,   LinkType::Nflog};
constexpr std::int64_t kT0 = 1'700'000'000'000'000;

// Records must be JSON objects; anything else is a bug worth a crash report.
class CheckingSink final : public offpath::Sink {
 public:
  void write(const offpath::OutputRecord& r) override {
    if (r.payload.size() < 2 || r.payload.front() != '{' || r.payload.back() != '}') std::abort();
  }
  bool flush(std::chrono::milliseconds /*deadline*/) override { return true; }
  offpath::SinkStats stats() const override { return {}; }
};

Config fuzz_config() {
  Config c;
  c.publish = offpath::PublishMode::All;
  c.record.max_body = 64;
  c.record.max_header_bytes = 512;
  c.record.max_uri_bytes = 128;
  c.reassembly.max_ooo_bytes_per_flow = 2048;
  c.reassembly.max_flows = 16;
  c.reassembly.response_timeout_s = 2;
  c.reassembly.flow_idle_timeout_s = 10;
  return c;
}

// The valid capture of ORDER mode: both directions cut into segments of at most 7 bytes.
std::vector<Packet> valid_capture() {
  const std::string request =
      "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n0\r\n\r\n"
      "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /g?x=1 HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n";
  const std::string response =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
      "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
      "HTTP/1.1 503 Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n";
  std::vector<Packet> out;
  std::uint32_t cseq = 100;
  std::uint32_t sseq = 9000;
  std::int64_t t = kT0;
  auto c = [&](std::uint8_t flags, std::string_view data) {
    out.push_back(PacketBuilder().eth().ipv4("10.1.0.1", "10.1.0.2")
                      .tcp(33000, 80, cseq, sseq, flags).payload(data).at_micros(t).build());
    cseq += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
  };
  auto s = [&](std::uint8_t flags, std::string_view data) {
    out.push_back(PacketBuilder().eth().ipv4("10.1.0.2", "10.1.0.1")
                      .tcp(80, 33000, sseq, cseq, flags).payload(data).at_micros(t).build());
    sseq += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
  };
  c(f::kSyn, {});
  s(f::kSyn | f::kAck, {});
  c(f::kAck, {});
  std::size_t ci = 0;
  std::size_t si = 0;
  while (ci < request.size() || si < response.size()) {
    if (ci < request.size()) {
      std::string_view piece = std::string_view(request).substr(ci, 7);
      c(f::kPsh | f::kAck, piece);
      ci += piece.size();
    }
    if (si < response.size() && ci > 80) {
      std::string_view piece = std::string_view(response).substr(si, 7);
      s(f::kPsh | f::kAck, piece);
      si += piece.size();
    }
  }
  c(f::kFin | f::kAck, {});
  s(f::kFin | f::kAck, {});
  c(f::kAck, {});
  return out;
}

void run_frames(const std::uint8_t* data, std::size_t size, Pipeline& pipeline) {
  const LinkType link = kLinks[(data[0] >> 1) & 7];
  std::size_t i = 1;
  std::int64_t t = kT0;
  while (i + 3 <= size) {
    std::size_t len = static_cast<std::size_t>(data[i]) << 8 | data[i + 1];
    t += static_cast<std::int64_t>(data[i + 2]) * 100'000;
    i += 3;
    len = std::min(len, size - i);
    // A copy of exactly the frame's bytes, so that ASan sees any read past its end.
    std::vector<std::uint8_t> bytes(data + i, data + i + len);
    Frame frame;
    frame.ts = Timestamp{t};
    frame.link = link;
    frame.wire_len = static_cast<std::uint32_t>(len);
    frame.bytes = offpath::ByteView(bytes);
    pipeline.on_frame(frame);
    i += len;
  }
}

void run_order(const std::uint8_t* data, std::size_t size, Pipeline& pipeline) {
  static const std::vector<Packet> capture = valid_capture();
  std::vector<std::size_t> left(capture.size());
  for (std::size_t k = 0; k < left.size(); ++k) left[k] = k;
  for (std::size_t i = 1; i < size && !left.empty(); ++i) {
    const std::uint8_t b = data[i];
    const std::size_t pick = (b & 0x3F) % left.size();
    const Packet& p = capture[left[pick]];
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
    if ((b & 0x80) != 0) continue;  // lost by the capture
    pipeline.on_frame(p.frame());
    if ((b & 0x40) != 0) pipeline.on_frame(p.frame());  // retransmitted
  }
  for (std::size_t k : left) pipeline.on_frame(capture[k].frame());
}

// Seeds that reach the tunnel decoders and the defragmenter: the valid capture with
// each packet in another encapsulation (in turn), cut into IP fragments, or as NFLOG.
using offpath::testing::Bytes;
using offpath::testing::put16;
using offpath::testing::cat;
using offpath::testing::eth_header;

Bytes over_udp(std::uint16_t port, const Bytes& payload) {
  return cat({eth_header(0x0800), offpath::testing::udp_over_ipv4(50000, port, payload)});
}

Bytes over_ip(std::uint8_t proto, const Bytes& payload) {
  return cat({eth_header(0x0800), offpath::testing::over_ipv4(proto, payload)});
}

std::vector<Packet> encapsulated(const std::vector<Packet>& capture) {
  std::vector<Packet> out;
  for (std::size_t k = 0; k < capture.size(); ++k) {
    const Bytes& frame = capture[k].data;
    const Bytes ip(frame.begin() + 14, frame.end());
    Bytes pppoe = {0x11, 0, 0, 1};
    put16(pppoe, static_cast<unsigned>(2 + ip.size()));
    put16(pppoe, 0x0021);
    Bytes llc(12, 0x02);
    put16(llc, static_cast<unsigned>(8 + ip.size()));
    const Bytes v6 = offpath::testing::outer_ipv6(4, ip.size());
    Packet p = capture[k];
    switch (k % 10) {
      case 0: p.data = over_udp(4789, cat({Bytes{0x08, 0, 0, 0, 0, 0, 1, 0}, frame})); break;
      case 1: p.data = over_ip(47, cat({Bytes{0x10, 0, 0x88, 0xBE, 0, 0, 0, 1}, Bytes{0x10, 1, 0, 7, 0, 0, 0, 1}, frame})); break;
      case 2: p.data = cat({eth_header(0x8847), Bytes{0, 1, 1, 64}, ip}); break;
      case 3: p.data = cat({eth_header(0x8864), pppoe, ip}); break;
      case 4: p.data = over_udp(2152, cat({Bytes{0x32, 0xFF, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0}, ip})); break;
      case 5: p.data = over_udp(6081, cat({Bytes{0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 0x80, 0}, frame})); break;
      case 6: p.data = over_ip(4, ip); break;
      case 7: p.data = cat({llc, Bytes{0xAA, 0xAA, 3, 0, 0, 0, 0x08, 0}, ip}); break;
      case 8: p.data = over_ip(47, cat({Bytes{0x10, 0, 0x22, 0xEB, 0, 0, 0, 1}, Bytes{0x20, 1, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0}, frame})); break;
      default: p.data = cat({eth_header(0x86DD), v6, ip}); break;
    }
    out.push_back(p);
  }
  return out;
}

// Each IPv4 packet in 16-byte fragments; every third datagram's fragments in reverse.
std::vector<Packet> fragmented(const std::vector<Packet>& capture) {
  std::vector<Packet> out;
  for (std::size_t k = 0; k < capture.size(); ++k) {
    const Bytes& frame = capture[k].data;
    const Bytes hdr(frame.begin() + 14, frame.begin() + 34);
    const Bytes data(frame.begin() + 34, frame.end());
    std::vector<Packet> frags;
    for (std::size_t off = 0; off < data.size(); off += 16) {
      const std::size_t n = std::min<std::size_t>(16, data.size() - off);
      Packet f = capture[k];
      f.data = cat({Bytes(frame.begin(), frame.begin() + 14), hdr});
      f.data.insert(f.data.end(), data.begin() + static_cast<std::ptrdiff_t>(off),
                    data.begin() + static_cast<std::ptrdiff_t>(off + n));
      offpath::testing::set16(f.data, 14 + 2, static_cast<unsigned>(20 + n));
      offpath::testing::set16(f.data, 14 + 4, static_cast<unsigned>(k));
      offpath::testing::set16(f.data, 14 + 6,
                              static_cast<unsigned>((off + n < data.size() ? 0x2000 : 0) | off / 8));
      frags.push_back(f);
    }
    if (k % 3 == 0) std::reverse(frags.begin(), frags.end());
    out.insert(out.end(), frags.begin(), frags.end());
  }
  return out;
}

// Raw IPv4 packets as NFLOG frames: header, packet-header TLV, payload TLV.
std::vector<Packet> nflog(const std::vector<Packet>& raw) {
  std::vector<Packet> out;
  for (const Packet& r : raw) {
    Packet p = r;
    const auto len = static_cast<std::uint8_t>(4 + r.data.size());
    p.data = cat({Bytes{2, 0, 0, 0, 8, 0, 1, 0, 0x08, 0x00, 3, 0, len, 0, 9, 0}, r.data});
    out.push_back(p);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const Config config = fuzz_config();
  CheckingSink sink;
  Pipeline pipeline(config, offpath::ClassifyOptions{}, sink, /*live=*/false);
  if ((data[0] & 1) == 0) {
    run_frames(data, size, pipeline);
  } else {
    run_order(data, size, pipeline);
  }
  pipeline.finish(Outcome::CaptureEnded);
  return 0;
}

// Seed inputs for the corpus (fuzz_replay --write-seeds DIR).
std::vector<std::pair<std::string, std::string>> offpath_fuzz_seeds() {
  std::vector<std::pair<std::string, std::string>> seeds;
  const std::vector<Packet> capture = valid_capture();
  auto frames = [&](std::uint8_t link_index, const std::vector<Packet>& packets) {
    std::string s(1, static_cast<char>(link_index << 1));
    for (const Packet& p : packets) {
      s.push_back(static_cast<char>(p.data.size() >> 8));
      s.push_back(static_cast<char>(p.data.size() & 0xFF));
      s.push_back(0);
      s.append(p.data.begin(), p.data.end());
    }
    return s;
  };
  seeds.emplace_back("frames-ethernet-session", frames(0, capture));
  // The same session over Linux SLL2 and raw IP (link headers rebuilt).
  std::vector<Packet> sll2;
  std::vector<Packet> raw;
  for (const Packet& p : capture) {
    Packet q = p;
    q.data.erase(q.data.begin(), q.data.begin() + 14);
    raw.push_back(q);
    Packet r = q;
    const std::uint8_t hdr[20] = {0x08, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 4, 4, 4, 4, 4, 4, 0, 0};
    r.data.insert(r.data.begin(), hdr, hdr + 20);
    sll2.push_back(r);
  }
  seeds.emplace_back("frames-sll2-session", frames(2, sll2));
  seeds.emplace_back("frames-raw-session", frames(3, raw));
  // A request, then 3 s of silence: the response timeout fires.
  {
    std::vector<Packet> two(capture.begin(), capture.begin() + 20);
    std::string s = frames(0, two);
    s[s.size() - two.back().data.size() - 1] = 30;
    seeds.emplace_back("frames-timeout", s);
  }
  seeds.emplace_back("frames-encap-session", frames(0, encapsulated(capture)));
  seeds.emplace_back("frames-fragments-session", frames(0, fragmented(capture)));
  seeds.emplace_back("frames-nflog-session", frames(7, nflog(raw)));
  seeds.emplace_back("order-in-order", std::string(1, '\x01'));
  {
    std::string s(1, '\x01');
    for (int i = 0; i < 60; ++i) s.push_back(static_cast<char>((i * 7 + 3) & 0x3F));
    seeds.emplace_back("order-shuffled", s);
  }
  {
    std::string s(1, '\x01');
    for (int i = 0; i < 60; ++i) s.push_back(static_cast<char>(i % 9 == 4 ? 0x85 : i % 5 == 0 ? 0x41 : 0));
    seeds.emplace_back("order-lost-and-retransmitted", s);
  }
  return seeds;
}
