#include "decode/decoder.hpp"

#include <algorithm>

namespace offpath {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;
constexpr int kMaxVlanTags = 4;
constexpr std::uint8_t kProtoTcp = 6;

// What the link layer carries: the network-layer bytes and their ethertype (or 0 when
// the IP version must be read from the first nibble).
struct NetworkPayload {
  ByteView bytes;
  std::uint16_t ethertype = 0;
};

DecodeOutcome strip_link(const Frame& frame, NetworkPayload& net) {
  ByteView b = frame.bytes;
  switch (frame.link) {
    case LinkType::Ethernet: {
      if (b.size() < 14) return DecodeOutcome::Truncated;
      std::uint16_t type = load_be16(b.data() + 12);
      std::size_t off = 14;
      for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld;
           ++tags) {
        if (tags == kMaxVlanTags) return DecodeOutcome::BadLinkHeader;
        if (b.size() < off + 4) return DecodeOutcome::Truncated;
        type = load_be16(b.data() + off + 2);
        off += 4;
      }
      net = {b.subspan(off), type};
      return DecodeOutcome::Tcp;
    }
    case LinkType::LinuxSll: {
      if (b.size() < 16) return DecodeOutcome::Truncated;
      net = {b.subspan(16), load_be16(b.data() + 14)};
      return DecodeOutcome::Tcp;
    }
    case LinkType::LinuxSll2: {
      if (b.size() < 20) return DecodeOutcome::Truncated;
      net = {b.subspan(20), load_be16(b.data())};
      return DecodeOutcome::Tcp;
    }
    case LinkType::Null:
    case LinkType::Loop: {
      if (b.size() < 4) return DecodeOutcome::Truncated;
      // The family is in the byte order of the machine that wrote the capture (Null) or
      // in network order (Loop): accept both readings.
      std::uint32_t le = load_le32(b.data());
      std::uint32_t be = load_be32(b.data());
      auto family_type = [](std::uint32_t f) -> std::uint16_t {
        if (f == 2) return kEtherIpv4;
        if (f == 10 || f == 24 || f == 28 || f == 30) return kEtherIpv6;
        return 0xFFFF;
      };
      std::uint16_t type = family_type(le);
      if (type == 0xFFFF) type = family_type(be);
      if (type == 0xFFFF) return DecodeOutcome::NotIp;
      net = {b.subspan(4), type};
      return DecodeOutcome::Tcp;
    }
    case LinkType::Raw:
    case LinkType::RawDlt:
    case LinkType::RawDltBsd:
    case LinkType::Ipv4:
    case LinkType::Ipv6:
      net = {b, 0};
      return DecodeOutcome::Tcp;
  }
  return DecodeOutcome::UnsupportedLink;
}

// Transport bytes after the IP header(s): captured bytes plus the length the IP header
// announces for them (may exceed what was captured).
struct TransportPayload {
  ByteView bytes;
  std::uint32_t announced_len = 0;
};

DecodeOutcome decode_ipv4(ByteView b, Segment& out, TransportPayload& tp) {
  if (b.size() < 20) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  if ((h[0] >> 4) != 4) return DecodeOutcome::BadIpHeader;
  std::size_t ihl = static_cast<std::size_t>(h[0] & 0x0F) * 4;
  std::uint16_t total = load_be16(h + 2);
  if (ihl < 20 || (total != 0 && total < ihl)) return DecodeOutcome::BadIpHeader;
  if (b.size() < ihl) return DecodeOutcome::Truncated;
  std::uint16_t frag = load_be16(h + 6);
  bool more_fragments = (frag & 0x2000) != 0;
  std::uint16_t frag_offset = frag & 0x1FFF;
  if (more_fragments || frag_offset != 0) return DecodeOutcome::Fragment;
  if (h[9] != kProtoTcp) return DecodeOutcome::NotTcp;
  out.src = IpAddress::v4(h + 12);
  out.dst = IpAddress::v4(h + 16);
  // TSO super-packets captured on the sending host may carry total length 0.
  std::size_t announced = total == 0 ? b.size() : total;
  std::size_t captured_end = std::min(b.size(), announced);  // drops Ethernet padding
  tp.bytes = b.subspan(ihl, captured_end - ihl);
  tp.announced_len = static_cast<std::uint32_t>(announced - ihl);
  return DecodeOutcome::Tcp;
}

DecodeOutcome decode_ipv6(ByteView b, Segment& out, TransportPayload& tp) {
  if (b.size() < 40) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  if ((h[0] >> 4) != 6) return DecodeOutcome::BadIpHeader;
  std::size_t payload_len = load_be16(h + 4);
  if (payload_len == 0) payload_len = b.size() - 40;  // jumbogram or TSO: trust the capture
  std::uint8_t next = h[6];
  out.src = IpAddress::v6(h + 8);
  out.dst = IpAddress::v6(h + 24);
  std::size_t off = 40;
  std::size_t end = 40 + payload_len;
  for (int hops = 0; hops < 8; ++hops) {
    switch (next) {
      case kProtoTcp: {
        if (off > end) return DecodeOutcome::BadIpHeader;
        std::size_t captured_end = std::min(b.size(), end);
        if (captured_end < off) return DecodeOutcome::Truncated;
        tp.bytes = b.subspan(off, captured_end - off);
        tp.announced_len = static_cast<std::uint32_t>(end - off);
        return DecodeOutcome::Tcp;
      }
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60: { // destination options
        if (b.size() < off + 2) return DecodeOutcome::Truncated;
        std::size_t len = (static_cast<std::size_t>(b[off + 1]) + 1) * 8;
        next = b[off];
        off += len;
        break;
      }
      case 51: {  // authentication header
        if (b.size() < off + 2) return DecodeOutcome::Truncated;
        std::size_t len = (static_cast<std::size_t>(b[off + 1]) + 2) * 4;
        next = b[off];
        off += len;
        break;
      }
      case 44:  // fragment
        return DecodeOutcome::Fragment;
      default:
        return DecodeOutcome::NotTcp;
    }
    if (off > end) return DecodeOutcome::BadIpHeader;
  }
  return DecodeOutcome::BadIpHeader;  // too many extension headers
}

DecodeOutcome decode_tcp(const TransportPayload& tp, Segment& out) {
  ByteView b = tp.bytes;
  if (tp.announced_len < 20) return DecodeOutcome::BadTcpHeader;
  if (b.size() < 20) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  std::size_t hdr_len = static_cast<std::size_t>(h[12] >> 4) * 4;
  if (hdr_len < 20 || hdr_len > tp.announced_len) return DecodeOutcome::BadTcpHeader;
  if (b.size() < hdr_len) return DecodeOutcome::Truncated;
  out.src_port = load_be16(h);
  out.dst_port = load_be16(h + 2);
  out.seq = load_be32(h + 4);
  out.ack = load_be32(h + 8);
  out.flags = h[13];
  out.payload = b.subspan(hdr_len);
  out.payload_len = tp.announced_len - static_cast<std::uint32_t>(hdr_len);
  return DecodeOutcome::Tcp;
}

}  // namespace

std::string_view to_string(DecodeOutcome outcome) {
  switch (outcome) {
    case DecodeOutcome::Tcp: return "tcp";
    case DecodeOutcome::UnsupportedLink: return "unsupported_link";
    case DecodeOutcome::NotIp: return "not_ip";
    case DecodeOutcome::NotTcp: return "not_tcp";
    case DecodeOutcome::Fragment: return "ip_fragment";
    case DecodeOutcome::Truncated: return "truncated";
    case DecodeOutcome::BadLinkHeader: return "bad_link_header";
    case DecodeOutcome::BadIpHeader: return "bad_ip_header";
    case DecodeOutcome::BadTcpHeader: return "bad_tcp_header";
    case DecodeOutcome::kCount: break;
  }
  return "unknown";
}

DecodeOutcome Decoder::decode(const Frame& frame, Segment& out) {
  DecodeOutcome outcome = decode_uncounted(frame, out);
  ++counts_[static_cast<std::size_t>(outcome)];
  return outcome;
}

DecodeOutcome Decoder::decode_uncounted(const Frame& frame, Segment& out) const {
  NetworkPayload net;
  if (auto o = strip_link(frame, net); o != DecodeOutcome::Tcp) return o;
  std::uint16_t type = net.ethertype;
  if (type == 0) {
    if (net.bytes.empty()) return DecodeOutcome::Truncated;
    std::uint8_t version = net.bytes[0] >> 4;
    type = version == 4 ? kEtherIpv4 : version == 6 ? kEtherIpv6 : 0;
  }
  TransportPayload tp;
  DecodeOutcome o;
  if (type == kEtherIpv4) {
    o = decode_ipv4(net.bytes, out, tp);
  } else if (type == kEtherIpv6) {
    o = decode_ipv6(net.bytes, out, tp);
  } else {
    return DecodeOutcome::NotIp;
  }
  if (o != DecodeOutcome::Tcp) return o;
  out.ts = frame.ts;
  return decode_tcp(tp, out);
}

}  // namespace offpath
