#include "decode/ip_defragmenter.hpp"

#include <algorithm>
#include <cstring>

namespace offpath {

IpDefragmenter::IpDefragmenter(const Limits& limits) : limits_(limits) {
  slots_.resize(std::max<std::size_t>(1, limits_.max_datagrams));
}

void IpDefragmenter::release(Slot& slot) {
  held_bytes_ -= slot.data.size();
  slot.used = false;
  slot.data.clear();
  if (slot.data.capacity() > kKeepCapacity) std::vector<std::uint8_t>().swap(slot.data);
  --active_;
}

void IpDefragmenter::expire(Timestamp now) {
  for (Slot& s : slots_) {
    if (s.used && now.micros - s.first_micros > limits_.timeout_micros) {
      ++counters_.timed_out;
      release(s);
    }
  }
}

IpDefragmenter::Slot* IpDefragmenter::oldest_except(const Slot* keep) {
  Slot* oldest = nullptr;
  for (Slot& s : slots_) {
    if (s.used && &s != keep && (oldest == nullptr || s.first_micros < oldest->first_micros)) {
      oldest = &s;
    }
  }
  return oldest;
}

IpDefragmenter::Slot* IpDefragmenter::find_or_claim(const IpFragment& f, Timestamp now) {
  Slot* free_slot = nullptr;
  for (Slot& s : slots_) {
    if (!s.used) {
      if (free_slot == nullptr) free_slot = &s;
      continue;
    }
    if (s.id == f.id && s.protocol == f.protocol && s.version == f.version && s.src == f.src &&
        s.dst == f.dst) {
      return &s;
    }
  }
  if (free_slot == nullptr) {
    Slot* oldest = oldest_except(nullptr);
    if (oldest == nullptr) return nullptr;  // no slots at all
    ++counters_.evicted;
    release(*oldest);
    free_slot = oldest;
  }
  Slot& s = *free_slot;
  s.used = true;
  s.version = f.version;
  s.src = f.src;
  s.dst = f.dst;
  s.protocol = f.protocol;
  s.id = f.id;
  s.first_micros = now.micros;
  s.total = 0;
  s.total_known = false;
  s.units_have = 0;
  s.have.fill(0);
  s.header_len = 0;
  ++active_;
  return &s;
}

IpDefragmenter::Result IpDefragmenter::add(const IpFragment& f, Timestamp now,
                                           ByteView& datagram) {
  ++counters_.fragments;
  expire(now);
  const std::uint64_t end = std::uint64_t{f.offset} + f.data_len;
  // Data cut by the capture, a fragment other than the last that is not a whole number of
  // 8-byte units, an empty one, or one past the largest datagram: not reassemblable.
  if (f.data.size() < f.data_len || f.data_len == 0 || end > 65535 ||
      (f.more && f.data_len % 8 != 0) || (f.offset == 0 && f.header.size() > kMaxHeader)) {
    ++counters_.dropped;
    return Result::Dropped;
  }
  Slot* slot = find_or_claim(f, now);
  if (slot == nullptr) {
    ++counters_.dropped;
    return Result::Dropped;
  }
  Slot& s = *slot;
  // The end of the datagram: set by the last fragment; a fragment that contradicts it is
  // dropped (the first word wins).
  if ((s.total_known && (end > s.total || (!f.more && end != s.total))) ||
      (!f.more && !s.total_known && end < s.data.size())) {
    ++counters_.dropped;
    return Result::Held;
  }
  if (!f.more) {
    s.total_known = true;
    s.total = static_cast<std::uint32_t>(end);
  }
  if (end > s.data.size()) {
    const std::size_t grow = end - s.data.size();
    // Room for the new bytes: evict the oldest other datagrams, or drop this fragment.
    while (held_bytes_ + grow > limits_.max_bytes) {
      Slot* oldest = oldest_except(&s);
      if (oldest == nullptr) {
        ++counters_.dropped;
        release(s);
        return Result::Dropped;
      }
      ++counters_.evicted;
      release(*oldest);
    }
    s.data.resize(end);
    held_bytes_ += grow;
  }
  if (f.offset == 0 && s.header_len == 0) {
    std::memcpy(s.header.data(), f.header.data(), f.header.size());
    s.header_len = f.header.size();
    s.next_header_at = f.next_header_at;
  }
  bool overlap = false;
  const std::size_t first_unit = f.offset / 8;
  const std::size_t last_unit = (end + 7) / 8;  // exclusive
  for (std::size_t u = first_unit; u < last_unit; ++u) {
    std::uint64_t& word = s.have[u / 64];
    const std::uint64_t bit = std::uint64_t{1} << (u % 64);
    if ((word & bit) != 0) {
      overlap = true;
      continue;
    }
    const std::size_t from = u * 8;
    const std::size_t n = std::min<std::size_t>(8, end - from);
    std::memcpy(s.data.data() + from, f.data.data() + (from - f.offset), n);
    word |= bit;
    ++s.units_have;
  }
  if (overlap) ++counters_.overlaps;
  if (s.header_len == 0 || !s.total_known || s.units_have != (s.total + 7) / 8) {
    return Result::Held;
  }
  return assemble(s, datagram);
}

IpDefragmenter::Result IpDefragmenter::assemble(Slot& s, ByteView& datagram) {
  const std::size_t len = s.header_len + s.total;
  const std::size_t length_field = s.version == 4 ? len : len - 40;
  if (length_field > 65535 || (s.version == 6 && s.header_len < 40)) {
    ++counters_.dropped;
    release(s);
    return Result::Dropped;
  }
  out_.resize(len);
  std::memcpy(out_.data(), s.header.data(), s.header_len);
  std::memcpy(out_.data() + s.header_len, s.data.data(), s.total);
  out_[2 + (s.version == 6 ? 2 : 0)] = static_cast<std::uint8_t>(length_field >> 8);
  out_[3 + (s.version == 6 ? 2 : 0)] = static_cast<std::uint8_t>(length_field);
  if (s.version == 4) {
    out_[6] = 0;  // flags and offset: a whole datagram
    out_[7] = 0;
  } else {
    out_[s.next_header_at] = s.protocol;
  }
  ++counters_.reassembled;
  release(s);
  datagram = ByteView(out_.data(), out_.size());
  return Result::Complete;
}

}  // namespace offpath
