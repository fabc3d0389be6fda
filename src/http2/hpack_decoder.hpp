// HpackDecoder: HPACK (RFC 7541) for the header blocks of ONE direction of an HTTP/2
// connection, on nghttp2's inflater. A header block may be fed in fragments (HEADERS
// then CONTINUATION frames) without being buffered whole.
// Once the dynamic table is unknown (a block failed to decode, part of one was lost, a
// gap, a connection picked up mid-stream) the decoder is desynchronised for good and
// reads every later block field by field: a field that needs the dynamic table (an
// index above the static table's 61) is skipped, and the others (static entries,
// literals) are decoded by a fresh nghttp2 inflater whose table holds nothing (size 0),
// so that a skipped entry can never be mistaken for another. Such a block decodes
// "false" when a field was skipped. A block in progress when the state was lost is not
// decoded further (its field boundaries are unknown).
// Owned by one Http2Session; called on the worker thread that owns the connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.hpp"

struct nghttp2_hd_inflater;

namespace offpath::http2 {

class HeaderSink {
 public:
  virtual ~HeaderSink() = default;
  virtual void on_header(std::string_view name, std::string_view value) = 0;
};

// Bytes one HPACK field representation takes at the start of `bytes` (RFC 7541 section
// 6), and whether it can be decoded without the dynamic table. Pure; any thread.
// A field cut by the end of `bytes` has its kind when its first integer is complete
// (else Incomplete), and its size when all its lengths are (else 0).
struct HpackField {
  enum Kind : std::uint8_t { Incomplete, Malformed, Static, Dynamic, TableSizeUpdate };
  Kind kind = Incomplete;
  std::size_t size = 0;  // bytes of the whole field; may exceed bytes.size()
};
HpackField hpack_field_extent(ByteView bytes);

class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  // Decodes one fragment of the current header block; `last` ends the block. Returns
  // false if the fragment was not decoded in full: the decoder is (or now becomes)
  // desynchronised and skipped fields, or the rest of a block whose state was lost.
  bool decode(ByteView fragment, bool last, HeaderSink& sink);
  // The receiver announced SETTINGS_HEADER_TABLE_SIZE: the largest table the encoder
  // may use from now on.
  void set_max_table_size(std::uint32_t size);
  // The table cannot be known any more (gap, truncated frame, pick-up mid-stream); a
  // block in progress is not decoded further.
  void desync();
  // The block in progress ended without its END_HEADERS (another frame came): the
  // table is unknown, and the next fragment begins a new block.
  void abandon_block();
  bool desynced() const { return desynced_; }
  // Heap bytes held (dynamic table, at most its announced size, plus a fixed part).
  std::int64_t heap_bytes() const;

 private:
  // Feeds `input` to the inflater, each field to `sink`; false on an error.
  bool inflate(ByteView input, bool final, HeaderSink& sink);
  bool decode_fields(ByteView fragment, bool last, HeaderSink& sink);
  // Decodes one field that needs no dynamic table, as a block of its own.
  bool decode_one(ByteView field, HeaderSink& sink);
  void start_fallback();

  nghttp2_hd_inflater* inflater_ = nullptr;
  bool desynced_ = false;
  bool in_block_ = false;    // a fragment of the current block was decoded, not the last
  bool skip_block_ = false;  // the rest of the current block is not decoded
  std::string carry_;        // desynchronised: a field split across fragments, bounded
  std::uint64_t skip_ = 0;   // desynchronised: bytes left of a field being skipped
};

}  // namespace offpath::http2
