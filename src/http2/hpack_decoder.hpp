// HpackDecoder: HPACK (RFC 7541) for the header blocks of ONE direction of an HTTP/2
// connection, on nghttp2's inflater. A header block may be fed in fragments (HEADERS
// then CONTINUATION frames) without being buffered whole. Once a block fails to decode,
// or part of one was lost, the dynamic table is unknown: the decoder is desynchronised
// for good and decodes nothing more (every later block is an hpack error of its stream).
// Owned by one Http2Session; called on the worker thread that owns the connection.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"

struct nghttp2_hd_inflater;

namespace offpath::http2 {

class HeaderSink {
 public:
  virtual ~HeaderSink() = default;
  virtual void on_header(std::string_view name, std::string_view value) = 0;
};

class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  // Decodes one fragment of the current header block; `last` ends the block. Returns
  // false if the decoder is (or now becomes) desynchronised.
  bool decode(ByteView fragment, bool last, HeaderSink& sink);
  // The receiver announced SETTINGS_HEADER_TABLE_SIZE: the largest table the encoder
  // may use from now on.
  void set_max_table_size(std::uint32_t size);
  // Part of a header block was lost (gap, truncated frame): the table cannot be known.
  void desync() { desynced_ = true; }
  bool desynced() const { return desynced_; }
  // Heap bytes held (dynamic table, at most its announced size, plus a fixed part).
  std::int64_t heap_bytes() const;

 private:
  nghttp2_hd_inflater* inflater_ = nullptr;
  bool desynced_ = false;
};

}  // namespace offpath::http2
