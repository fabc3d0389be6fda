// ContentDecoder: undoes the Content-Encoding of the captured head of a body (gzip,
// x-gzip, deflate with or without its zlib header; stacked codings such as "gzip, gzip"),
// with zlib, producing at most a given number of decoded bytes. Codings it cannot undo
// (br, zstd, compress, unknown) are reported as Unsupported and the body stays encoded.
// One per encoder (so one per worker thread); owns one z_stream, created on first use and
// reset between bodies, and two scratch buffers: no allocation in the steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct z_stream_s;

namespace offpath {

enum class DecodeStatus : std::uint8_t {
  Identity,     // no Content-Encoding, or only "identity": nothing to do
  Complete,     // decoded to the end of the encoded stream
  Partial,      // decoded the bytes there were; the stream goes on (capture or output limit)
  Unsupported,  // a coding zlib cannot undo (br, zstd, compress, ...): left encoded
  Corrupt,      // zlib rejected the stream: left encoded (anomaly decode_error)
};

std::string_view to_string(DecodeStatus status);

class ContentDecoder {
 public:
  ContentDecoder();
  ~ContentDecoder();
  ContentDecoder(const ContentDecoder&) = delete;
  ContentDecoder& operator=(const ContentDecoder&) = delete;

  // Decodes `encoded` (the head of a body) per the Content-Encoding header value
  // `content_encoding` (codings in the order applied, comma-separated, any case).
  // On Complete or Partial the decoded bytes (at most max_out) are in output(); otherwise
  // output() is empty. `encoded` may be a prefix of the body.
  DecodeStatus decode(std::string_view content_encoding, std::string_view encoded,
                      std::size_t max_out);
  std::string_view output() const { return out_; }

 private:
  enum class Coding : std::uint8_t { Gzip, Deflate };
  DecodeStatus inflate_one(Coding coding, std::string_view in, std::string& out,
                           std::size_t max_out);

  z_stream_s* zs_ = nullptr;
  std::string out_;
  std::string scratch_;
};

}  // namespace offpath
