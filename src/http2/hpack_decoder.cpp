#include "http2/hpack_decoder.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>

namespace offpath::http2 {

namespace {

constexpr std::int64_t kFixedBytes = 1024;  // inflater object and its buffers
constexpr std::size_t kStaticEntries = 61;  // RFC 7541 appendix A
// A field split across fragments is held up to this size; a bigger one is skipped.
constexpr std::size_t kMaxCarry = 4096;

enum class IntRead : std::uint8_t { Ok, Incomplete, Malformed };

// RFC 7541 section 5.1: an integer with a `prefix_bits` prefix at b[pos]; moves pos past it.
IntRead read_int(ByteView b, std::size_t& pos, int prefix_bits, std::uint64_t& value) {
  if (pos >= b.size()) return IntRead::Incomplete;
  const std::uint64_t mask = (std::uint64_t{1} << prefix_bits) - 1;
  value = b[pos++] & mask;
  if (value < mask) return IntRead::Ok;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (pos >= b.size()) return IntRead::Incomplete;
    const std::uint8_t c = b[pos++];
    value += std::uint64_t{c & 0x7fu} << shift;
    if ((c & 0x80) == 0) return IntRead::Ok;
  }
  return IntRead::Malformed;
}

// A string literal (section 5.2) at b[pos]: moves pos past it. Incomplete with `pos` set
// past the end when only its length is known.
IntRead skip_string(ByteView b, std::size_t& pos) {
  std::uint64_t length = 0;
  const IntRead r = read_int(b, pos, 7, length);
  if (r != IntRead::Ok) return r;
  pos += length;
  return pos <= b.size() ? IntRead::Ok : IntRead::Incomplete;
}

}  // namespace

HpackField hpack_field_extent(ByteView b) {
  HpackField f;
  if (b.empty()) return f;
  const std::uint8_t c = b[0];
  int prefix = 4;  // literal without indexing / never indexed (0000xxxx, 0001xxxx)
  if (c & 0x80) {
    prefix = 7;  // indexed
  } else if (c & 0x40) {
    prefix = 6;  // literal with incremental indexing
  } else if (c & 0x20) {
    prefix = 5;  // dynamic table size update
  }
  std::size_t pos = 0;
  std::uint64_t index = 0;
  IntRead r = read_int(b, pos, prefix, index);
  if (r != IntRead::Ok) {
    f.kind = r == IntRead::Malformed ? HpackField::Malformed : HpackField::Incomplete;
    return f;
  }
  if (prefix == 7 && index == 0) {
    f.kind = HpackField::Malformed;
    return f;
  }
  if (prefix == 5) {
    f.kind = HpackField::TableSizeUpdate;
  } else {
    f.kind = index > kStaticEntries ? HpackField::Dynamic : HpackField::Static;
  }
  if (prefix != 7 && prefix != 5) {
    if (index == 0) {
      r = skip_string(b, pos);  // the name, a literal
      if (r == IntRead::Incomplete) return f;  // the value's size is not known yet
    }
    if (r == IntRead::Ok) r = skip_string(b, pos);  // the value
  }
  if (r == IntRead::Malformed) {
    f.kind = HpackField::Malformed;
  } else if (r == IntRead::Ok || pos > b.size()) {
    f.size = pos;  // complete, or at least its size is known
  }
  return f;
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
  if (nghttp2_hd_inflate_change_table_size(inflater_, size) != 0) desync();
}

std::int64_t HpackDecoder::heap_bytes() const {
  if (inflater_ == nullptr) return 0;
  return kFixedBytes + static_cast<std::int64_t>(carry_.capacity()) +
         static_cast<std::int64_t>(nghttp2_hd_inflate_get_dynamic_table_size(inflater_));
}

// A fresh inflater with a table of size 0: it decodes static entries and literals, and
// keeps no entry (a literal with incremental indexing is dropped from it at once).
void HpackDecoder::start_fallback() {
  if (inflater_ != nullptr) nghttp2_hd_inflate_del(inflater_);
  inflater_ = nullptr;
  if (nghttp2_hd_inflate_new(&inflater_) != 0) {
    inflater_ = nullptr;
    return;
  }
  // The size change must be acknowledged by a dynamic table size update (0x20: size 0).
  static constexpr std::uint8_t kSizeZero[] = {0x20};
  nghttp2_nv nv;
  int flags = 0;
  if (nghttp2_hd_inflate_change_table_size(inflater_, 0) != 0 ||
      nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, kSizeZero, 1, 1) < 0 ||
      (flags & NGHTTP2_HD_INFLATE_FINAL) == 0) {
    nghttp2_hd_inflate_del(inflater_);
    inflater_ = nullptr;
    return;
  }
  nghttp2_hd_inflate_end_headers(inflater_);
}

void HpackDecoder::desync() {
  if (!desynced_) {
    desynced_ = true;
    start_fallback();
  }
  if (in_block_) skip_block_ = true;
}

void HpackDecoder::abandon_block() {
  desync();
  in_block_ = false;
  skip_block_ = false;
  skip_ = 0;
  carry_.clear();
}

bool HpackDecoder::decode(ByteView fragment, bool last, HeaderSink& sink) {
  if (desynced_) return decode_fields(fragment, last, sink);
  if (inflate(fragment, last, sink)) {
    in_block_ = !last;
    return true;
  }
  // nghttp2 stopped inside the block: where its next field begins is unknown.
  in_block_ = !last;
  desync();
  if (last) abandon_block();
  return false;
}

bool HpackDecoder::inflate(ByteView input, bool final, HeaderSink& sink) {
  const std::uint8_t* in = input.data();
  std::size_t left = input.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t rv = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, final ? 1 : 0);
    if (rv < 0) return false;
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

bool HpackDecoder::decode_fields(ByteView fragment, bool last, HeaderSink& sink) {
  bool ok = !skip_block_;
  std::string joined;  // a field carried from the previous fragment, and this one
  ByteView in = fragment;
  if (skip_block_) {
    in = {};
  } else if (!carry_.empty()) {
    joined = std::move(carry_);
    carry_.clear();
    joined.append(reinterpret_cast<const char*>(fragment.data()), fragment.size());
    in = ByteView(reinterpret_cast<const std::uint8_t*>(joined.data()), joined.size());
  }
  if (skip_ != 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size()));
    skip_ -= n;
    in = in.subspan(n);
  }
  while (!in.empty()) {
    const HpackField f = hpack_field_extent(in);
    if (f.kind == HpackField::Malformed) {
      ok = false;
      skip_block_ = true;
      break;
    }
    if (f.size == 0 || f.size > in.size()) {  // the field goes on in the next fragment
      if (last) {
        ok = false;
      } else if (f.size == 0 || (f.kind == HpackField::Static && f.size <= kMaxCarry)) {
        if (in.size() <= kMaxCarry) {
          carry_.assign(reinterpret_cast<const char*>(in.data()), in.size());
        } else {
          ok = false;
          skip_block_ = true;
        }
      } else {
        ok = false;
        skip_ = f.size - in.size();
      }
      break;
    }
    if (f.kind == HpackField::Dynamic) {
      ok = false;  // its name (and value, if indexed) is in the unknown table
    } else if (f.kind == HpackField::Static) {
      if (!decode_one(in.first(f.size), sink)) ok = false;
    }
    in = in.subspan(f.size);
  }
  if (last) {
    in_block_ = false;
    skip_block_ = false;
    skip_ = 0;
    carry_.clear();
  } else {
    in_block_ = true;
  }
  return ok;
}

bool HpackDecoder::decode_one(ByteView field, HeaderSink& sink) {
  if (inflater_ == nullptr) return false;
  if (inflate(field, true, sink)) return true;
  start_fallback();  // the inflater refuses everything after an error
  return false;
}

}  // namespace offpath::http2
