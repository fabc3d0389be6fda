#include "flow/flow_key.hpp"

#include <cstring>

namespace offpath {
namespace {

// 64-bit mixing (the finaliser of MurmurHash3), applied to 8-byte words of the key.
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::uint64_t hash_endpoint(std::uint64_t h, const Endpoint& e) {
  std::uint64_t words[2];
  std::memcpy(words, e.addr.bytes.data(), sizeof words);
  h = mix(h ^ words[0]);
  h = mix(h ^ words[1]);
  return mix(h ^ (static_cast<std::uint64_t>(e.port) << 8 | e.addr.version));
}

}  // namespace

std::string Endpoint::to_string() const {
  if (addr.version == 6) return "[" + addr.to_string() + "]:" + std::to_string(port);
  return addr.to_string() + ":" + std::to_string(port);
}

FlowKey FlowKey::of(const Segment& seg, Side& sender) {
  Endpoint src{seg.src, seg.src_port};
  Endpoint dst{seg.dst, seg.dst_port};
  if (src < dst) {
    sender = Side::Lo;
    return FlowKey{src, dst};
  }
  sender = Side::Hi;
  return FlowKey{dst, src};
}

std::uint64_t FlowKey::id_hash() const {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  h = hash_endpoint(h, lo);
  h = hash_endpoint(h, hi);
  return h;
}

std::size_t FlowKey::hash() const {
  // Independent products of the key's words (they run side by side), folded, then one
  // finaliser: a third of the latency of id_hash() with the same spread over a table.
  std::uint64_t l[2];
  std::uint64_t h[2];
  std::memcpy(l, lo.addr.bytes.data(), sizeof l);
  std::memcpy(h, hi.addr.bytes.data(), sizeof h);
  const std::uint64_t ports = static_cast<std::uint64_t>(lo.port) << 48 |
                              static_cast<std::uint64_t>(hi.port) << 32 |
                              static_cast<std::uint64_t>(lo.addr.version) << 8 |
                              hi.addr.version;
  const std::uint64_t a = (l[0] ^ 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL +
                          (h[0] ^ 0x94d049bb133111ebULL) * 0xd6e8feb86659fd93ULL;
  const std::uint64_t b = (l[1] ^ ports) * 0xff51afd7ed558ccdULL +
                          (h[1] ^ 0x2545f4914f6cdd1dULL) * 0xc4ceb9fe1a85ec53ULL;
  return static_cast<std::size_t>(mix(a ^ (b << 32 | b >> 32)));
}

}  // namespace offpath
