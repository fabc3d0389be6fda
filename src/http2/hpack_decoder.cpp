#include "http2/hpack_decoder.hpp"

#include <nghttp2/nghttp2.h>

namespace offpath::http2 {

namespace {
constexpr std::int64_t kFixedBytes = 1024;  // inflater object and its buffers
}

HpackDecoder::HpackDecoder() {
  if (nghttp2_hd_inflate_new(&inflater_) != 0) {
    inflater_ = nullptr;
    desynced_ = true;
  }
}

HpackDecoder::~HpackDecoder() {
  if (inflater_ != nullptr) nghttp2_hd_inflate_del(inflater_);
}

void HpackDecoder::set_max_table_size(std::uint32_t size) {
  if (desynced_) return;
  if (nghttp2_hd_inflate_change_table_size(inflater_, size) != 0) desynced_ = true;
}

std::int64_t HpackDecoder::heap_bytes() const {
  if (inflater_ == nullptr) return 0;
  return kFixedBytes + static_cast<std::int64_t>(
                           nghttp2_hd_inflate_get_dynamic_table_size(inflater_));
}

bool HpackDecoder::decode(ByteView fragment, bool last, HeaderSink& sink) {
  if (desynced_) return false;
  const std::uint8_t* in = fragment.data();
  std::size_t left = fragment.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t rv =
        nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, last ? 1 : 0);
    if (rv < 0) {
      desynced_ = true;
      return false;
    }
    in += rv;
    left -= static_cast<std::size_t>(rv);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      sink.on_header({reinterpret_cast<const char*>(nv.name), nv.namelen},
                     {reinterpret_cast<const char*>(nv.value), nv.valuelen});
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return true;
    }
    if (left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return true;
  }
}

}  // namespace offpath::http2
