// Builds HTTP/2 byte streams for the http2 unit tests: frames by hand, header blocks
// with nghttp2's HPACK deflater (one per direction, as a real peer keeps).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http2/frame_reader.hpp"

namespace offpath::http2::test {

using Bytes = std::vector<std::uint8_t>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Appends through resize + memcpy: GCC 12 at -O3 misreads vector::insert here.
inline void append(Bytes& out, const void* p, std::size_t n) {
  if (n == 0) return;
  const std::size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}
inline void append(Bytes& out, std::string_view s) { append(out, s.data(), s.size()); }
inline void append(Bytes& out, const Bytes& b) { append(out, b.data(), b.size()); }
inline Bytes bytes(std::string_view s) {
  Bytes b;
  append(b, s);
  return b;
}

inline Bytes frame(FrameType type, std::uint8_t flags, std::uint32_t stream,
                   const Bytes& payload) {
  Bytes f;
  f.reserve(kFrameHeaderSize + payload.size());
  const auto n = static_cast<std::uint32_t>(payload.size());
  f.push_back(static_cast<std::uint8_t>(n >> 16));
  f.push_back(static_cast<std::uint8_t>(n >> 8));
  f.push_back(static_cast<std::uint8_t>(n));
  f.push_back(static_cast<std::uint8_t>(type));
  f.push_back(flags);
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<std::uint8_t>(stream >> shift));
  append(f, payload);
  return f;
}

inline Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

class Deflater {
 public:
  explicit Deflater(std::size_t table = 4096) { nghttp2_hd_deflate_new(&d_, table); }
  ~Deflater() { nghttp2_hd_deflate_del(d_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  Bytes block(const Headers& headers) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : headers) {
      nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(),
                     v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    Bytes out(nghttp2_hd_deflate_bound(d_, nva.data(), nva.size()));
    const auto n = nghttp2_hd_deflate_hd(d_, out.data(), out.size(), nva.data(), nva.size());
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
  }
  nghttp2_hd_deflater* get() { return d_; }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

inline Bytes settings(std::vector<std::pair<std::uint16_t, std::uint32_t>> s) {
  Bytes p;
  for (auto [id, v] : s) {
    p.push_back(static_cast<std::uint8_t>(id >> 8));
    p.push_back(static_cast<std::uint8_t>(id));
    append(p, be32(v));
  }
  return frame(FrameType::Settings, 0, 0, p);
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

inline Bytes preface() {
  Bytes b;
  append(b, kClientPreface);
  return b;
}

}  // namespace offpath::http2::test
