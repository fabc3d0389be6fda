#include "output/content_decoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/ascii.hpp"

namespace offpath {
namespace {

constexpr std::size_t kMaxCodings = 4;  // more stacked codings than this: Unsupported

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 1950: CMF/FLG with method 8 and a header checksum divisible by 31.
bool has_zlib_header(std::string_view in) {
  if (in.size() < 2) return false;
  auto cmf = static_cast<unsigned char>(in[0]);
  auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

}  // namespace

std::string_view to_string(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::Identity: return "identity";
    case DecodeStatus::Complete: return "complete";
    case DecodeStatus::Partial: return "partial";
    case DecodeStatus::Unsupported: return "unsupported";
    case DecodeStatus::Corrupt: return "corrupt";
  }
  return "unknown";
}

ContentDecoder::ContentDecoder() = default;

ContentDecoder::~ContentDecoder() {
  if (zs_ != nullptr) {
    inflateEnd(zs_);
    delete zs_;
  }
}

DecodeStatus ContentDecoder::decode(std::string_view content_encoding, std::string_view encoded,
                                    std::size_t max_out) {
  out_.clear();
  std::array<Coding, kMaxCodings> codings{};
  std::size_t n = 0;
  while (!content_encoding.empty()) {
    std::size_t comma = content_encoding.find(',');
    std::string_view c = trim(content_encoding.substr(0, comma));
    content_encoding = comma == std::string_view::npos ? std::string_view()
                                                       : content_encoding.substr(comma + 1);
    if (c.empty() || iequals_ascii(c, "identity")) continue;
    if (n == kMaxCodings) return DecodeStatus::Unsupported;
    if (iequals_ascii(c, "gzip") || iequals_ascii(c, "x-gzip")) {
      codings[n++] = Coding::Gzip;
    } else if (iequals_ascii(c, "deflate")) {
      codings[n++] = Coding::Deflate;
    } else {
      return DecodeStatus::Unsupported;
    }
  }
  if (n == 0) return DecodeStatus::Identity;
  // Undo the codings in the reverse of the order they were applied, alternating between
  // out_ and scratch_ so that a stage never reads what it writes and the last one (i = 0)
  // writes out_. Intermediate stages are compressed data themselves: more room for them.
  std::string_view in = encoded;
  DecodeStatus status = DecodeStatus::Complete;
  for (std::size_t i = n; i-- > 0;) {
    std::string& stage_out = i % 2 == 0 ? out_ : scratch_;
    std::size_t limit = i == 0 ? max_out : std::max<std::size_t>(4 * max_out, 65536);
    DecodeStatus s = inflate_one(codings[i], in, stage_out, limit);
    if (s == DecodeStatus::Corrupt) {
      out_.clear();
      return s;
    }
    if (s == DecodeStatus::Partial) status = DecodeStatus::Partial;
    in = stage_out;
  }
  return status;
}

DecodeStatus ContentDecoder::inflate_one(Coding coding, std::string_view in, std::string& out,
                                         std::size_t max_out) {
  // gzip only (16 + 15); deflate: zlib-wrapped (15), or raw (-15) as some servers send it.
  int window_bits = coding == Coding::Gzip ? 16 + 15 : (has_zlib_header(in) ? 15 : -15);
  if (zs_ == nullptr) {
    zs_ = new z_stream{};
    if (inflateInit2(zs_, window_bits) != Z_OK) {
      delete zs_;
      zs_ = nullptr;
      return DecodeStatus::Corrupt;
    }
  } else if (inflateReset2(zs_, window_bits) != Z_OK) {
    return DecodeStatus::Corrupt;
  }
  out.resize(max_out);  // no allocation once the buffer has grown to this size
  zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs_->avail_in = static_cast<uInt>(in.size());
  zs_->next_out = reinterpret_cast<Bytef*>(out.data());
  zs_->avail_out = static_cast<uInt>(max_out);
  int rc = max_out == 0 ? Z_BUF_ERROR : inflate(zs_, Z_SYNC_FLUSH);
  while (rc == Z_OK && zs_->avail_out > 0 && zs_->avail_in > 0) rc = inflate(zs_, Z_SYNC_FLUSH);
  out.resize(max_out - zs_->avail_out);
  switch (rc) {
    case Z_STREAM_END: return DecodeStatus::Complete;
    case Z_OK:
    case Z_BUF_ERROR: return DecodeStatus::Partial;  // input or output ran out
    default: out.clear(); return DecodeStatus::Corrupt;  // Z_DATA_ERROR, Z_NEED_DICT, ...
  }
}

}  // namespace offpath
