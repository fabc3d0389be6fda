#include "decode/decoder.hpp"

#include <algorithm>

#include "decode/layers.hpp"

namespace offpath {
namespace layers {
namespace {

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kIpv6Fragment = 44;

DecodeOutcome tcp(Walk& w, ByteView b, std::uint32_t announced_len) {
  if (announced_len < 20) return DecodeOutcome::BadTcpHeader;
  if (b.size() < 20) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  std::size_t hdr_len = static_cast<std::size_t>(h[12] >> 4) * 4;
  if (hdr_len < 20 || hdr_len > announced_len) return DecodeOutcome::BadTcpHeader;
  if (b.size() < hdr_len) return DecodeOutcome::Truncated;
  Segment& out = w.out;
  out.src_port = load_be16(h);
  out.dst_port = load_be16(h + 2);
  if (w.inner_ports != nullptr && (w.depth > 0 || w.reassembled) &&
      !w.inner_ports->test(out.src_port) && !w.inner_ports->test(out.dst_port)) {
    return DecodeOutcome::InnerPortFiltered;
  }
  out.seq = load_be32(h + 4);
  out.ack = load_be32(h + 8);
  out.flags = h[13];
  out.payload = b.subspan(hdr_len);
  out.payload_len = announced_len - static_cast<std::uint32_t>(hdr_len);
  return DecodeOutcome::Tcp;
}

// A fragment to the defragmenter; the datagram it completes is decoded in its place.
DecodeOutcome fragment(Walk& w, const IpFragment& frag) {
  ByteView datagram;
  if (w.defrag.add(frag, w.ts, datagram) != IpDefragmenter::Result::Complete) {
    return DecodeOutcome::Fragment;
  }
  w.reassembled = true;
  return frag.version == 4 ? ipv4(w, datagram) : ipv6(w, datagram);
}

}  // namespace

DecodeOutcome ipv4(Walk& w, ByteView b) {
  if (b.size() < 20) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  if ((h[0] >> 4) != 4) return DecodeOutcome::BadIpHeader;
  std::size_t ihl = static_cast<std::size_t>(h[0] & 0x0F) * 4;
  std::uint16_t total = load_be16(h + 2);
  if (ihl < 20 || (total != 0 && total < ihl)) return DecodeOutcome::BadIpHeader;
  if (b.size() < ihl) return DecodeOutcome::Truncated;
  w.out.src = IpAddress::v4(h + 12);
  w.out.dst = IpAddress::v4(h + 16);
  // TSO super-packets captured on the sending host may carry total length 0.
  std::size_t announced = total == 0 ? b.size() : total;
  std::size_t captured_end = std::min(b.size(), announced);  // drops Ethernet padding
  ByteView payload = b.subspan(ihl, captured_end - ihl);
  const auto announced_len = static_cast<std::uint32_t>(announced - ihl);
  std::uint16_t frag = load_be16(h + 6);
  if ((frag & 0x3FFF) != 0) {  // more fragments, or an offset
    IpFragment f;
    f.version = 4;
    f.src = w.out.src;
    f.dst = w.out.dst;
    f.protocol = h[9];
    f.id = load_be16(h + 4);
    f.offset = static_cast<std::uint32_t>(frag & 0x1FFF) * 8;
    f.more = (frag & 0x2000) != 0;
    f.header = b.first(ihl);
    f.data = payload;
    f.data_len = announced_len;
    return fragment(w, f);
  }
  if (h[9] != kProtoTcp) return ip_payload(w, h[9], false, payload);
  return tcp(w, payload, announced_len);
}

DecodeOutcome ipv6(Walk& w, ByteView b) {
  if (b.size() < 40) return DecodeOutcome::Truncated;
  const std::uint8_t* h = b.data();
  if ((h[0] >> 4) != 6) return DecodeOutcome::BadIpHeader;
  std::size_t payload_len = load_be16(h + 4);
  if (payload_len == 0) payload_len = b.size() - 40;  // jumbogram or TSO: trust the capture
  std::uint8_t next = h[6];
  w.out.src = IpAddress::v6(h + 8);
  w.out.dst = IpAddress::v6(h + 24);
  std::size_t off = 40;
  std::size_t next_at = 6;  // where the byte naming `next` is
  const std::size_t end = 40 + payload_len;
  for (int hops = 0; hops < 8; ++hops) {
    switch (next) {
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60: { // destination options
        if (b.size() < off + 2) return DecodeOutcome::Truncated;
        std::size_t len = (static_cast<std::size_t>(b[off + 1]) + 1) * 8;
        next = b[off];
        next_at = off;
        off += len;
        break;
      }
      case 51: {  // authentication header
        if (b.size() < off + 2) return DecodeOutcome::Truncated;
        std::size_t len = (static_cast<std::size_t>(b[off + 1]) + 2) * 4;
        next = b[off];
        next_at = off;
        off += len;
        break;
      }
      case kIpv6Fragment: {
        if (off + 8 > end) return DecodeOutcome::BadIpHeader;
        if (b.size() < off + 8) return DecodeOutcome::Truncated;
        const std::uint16_t offset_flags = load_be16(b.data() + off + 2);
        IpFragment f;
        f.version = 6;
        f.src = w.out.src;
        f.dst = w.out.dst;
        f.protocol = b[off];
        f.id = load_be32(b.data() + off + 4);
        f.offset = offset_flags & 0xFFF8;
        f.more = (offset_flags & 1) != 0;
        if (f.offset == 0 && !f.more) {  // atomic fragment: the whole packet
          w.defrag.count_atomic();
          next = b[off];
          next_at = off;
          off += 8;
          break;
        }
        const std::size_t captured_end = std::min(b.size(), end);
        f.header = b.first(off);
        f.next_header_at = next_at;
        f.data = b.subspan(off + 8, captured_end - (off + 8));
        f.data_len = static_cast<std::uint32_t>(end - (off + 8));
        return fragment(w, f);
      }
      default: {
        if (off > end) return DecodeOutcome::BadIpHeader;
        const std::size_t captured_end = std::min(b.size(), end);
        if (captured_end < off) return DecodeOutcome::Truncated;
        ByteView payload = b.subspan(off, captured_end - off);
        if (next != kProtoTcp) return ip_payload(w, next, true, payload);
        return tcp(w, payload, static_cast<std::uint32_t>(end - off));
      }
    }
    if (off > end) return DecodeOutcome::BadIpHeader;
  }
  return DecodeOutcome::BadIpHeader;  // too many extension headers
}

}  // namespace layers

namespace {

using layers::Walk;

constexpr std::uint16_t kNflogPayload = 9;  // NFULA_PAYLOAD: the packet from its IP header

// Address families of the 4-byte loopback header (host or network order) and of NFLOG.
std::uint16_t family_type(std::uint32_t family) {
  if (family == 2) return layers::kEtherIpv4;
  if (family == 10 || family == 24 || family == 28 || family == 30) return layers::kEtherIpv6;
  return 0xFFFF;
}

// NFLOG (LINKTYPE_NFLOG): a 4-byte header (family, version, resource id), then TLVs whose
// length and type are in the capturing host's byte order (little-endian on every Linux
// the project runs on), each padded to 4 bytes. The packet is the NFULA_PAYLOAD TLV.
DecodeOutcome nflog(Walk& w, ByteView b) {
  if (b.size() < 4) return DecodeOutcome::Truncated;
  if (b[1] != 0) return DecodeOutcome::BadLinkHeader;  // version 0 only
  std::size_t off = 4;
  while (off + 4 <= b.size()) {
    const std::size_t len = static_cast<std::size_t>(b[off]) | static_cast<std::size_t>(b[off + 1]) << 8;
    const std::uint16_t type = static_cast<std::uint16_t>(b[off + 2] | b[off + 3] << 8);
    if (len < 4) return DecodeOutcome::BadLinkHeader;
    if (type == kNflogPayload) {
      const std::uint16_t family = family_type(b[0]);
      if (family == 0xFFFF) return DecodeOutcome::NotIp;
      // A snap length may cut the packet: decode what was captured of it.
      return layers::ethertype(w, family, b.subspan(off + 4, std::min(len, b.size() - off) - 4));
    }
    off += (len + 3) & ~std::size_t{3};
  }
  return off > b.size() ? DecodeOutcome::Truncated : DecodeOutcome::NotIp;
}

DecodeOutcome link(Walk& w, const Frame& frame) {
  ByteView b = frame.bytes;
  switch (frame.link) {
    case LinkType::Ethernet:
      return layers::ethernet(w, b);
    case LinkType::LinuxSll:
      if (b.size() < 16) return DecodeOutcome::Truncated;
      return layers::ethertype(w, load_be16(b.data() + 14), b.subspan(16));
    case LinkType::LinuxSll2:
      if (b.size() < 20) return DecodeOutcome::Truncated;
      return layers::ethertype(w, load_be16(b.data()), b.subspan(20));
    case LinkType::Null:
    case LinkType::Loop: {
      if (b.size() < 4) return DecodeOutcome::Truncated;
      // The family is in the byte order of the machine that wrote the capture (Null) or
      // in network order (Loop): accept both readings.
      std::uint16_t type = family_type(load_le32(b.data()));
      if (type == 0xFFFF) type = family_type(load_be32(b.data()));
      if (type == 0xFFFF) return DecodeOutcome::NotIp;
      return layers::ethertype(w, type, b.subspan(4));
    }
    case LinkType::Nflog:
      return nflog(w, b);
    case LinkType::Raw:
    case LinkType::RawDlt:
    case LinkType::RawDltBsd:
    case LinkType::Ipv4:
    case LinkType::Ipv6:
      return layers::ethertype(w, layers::kEtherByVersion, b);
  }
  return DecodeOutcome::UnsupportedLink;
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
    case DecodeOutcome::BadEncapHeader: return "bad_encap_header";
    case DecodeOutcome::EncapTooDeep: return "encap_too_deep";
    case DecodeOutcome::InnerPortFiltered: return "inner_port_filtered";
    case DecodeOutcome::kCount: break;
  }
  return "unknown";
}

std::string_view to_string(EncapKind kind) {
  switch (kind) {
    case EncapKind::Vlan: return "vlan";
    case EncapKind::Mpls: return "mpls";
    case EncapKind::Pppoe: return "pppoe";
    case EncapKind::LlcSnap: return "llc_snap";
    case EncapKind::Gre: return "gre";
    case EncapKind::Erspan: return "erspan";
    case EncapKind::Vxlan: return "vxlan";
    case EncapKind::Geneve: return "geneve";
    case EncapKind::Gtpu: return "gtpu";
    case EncapKind::Ipip: return "ipip";
    case EncapKind::Ip6in4: return "ip6in4";
    case EncapKind::Ip4in6: return "ip4in6";
    case EncapKind::Ip6in6: return "ip6in6";
    case EncapKind::Teredo: return "teredo";
    case EncapKind::kCount: break;
  }
  return "unknown";
}

void Decoder::set_inner_ports(const std::vector<std::uint16_t>& ports) {
  if (ports.empty()) {
    inner_ports_.reset();
    return;
  }
  inner_ports_ = std::make_unique<std::bitset<65536>>();
  for (std::uint16_t p : ports) inner_ports_->set(p);
}

DecodeOutcome Decoder::decode(const Frame& frame, Segment& out) {
  Walk w{out, encap_, defrag_, frame.ts, inner_ports_.get()};
  out.ts = frame.ts;
  const DecodeOutcome outcome = link(w, frame);
  ++counts_[static_cast<std::size_t>(outcome)];
  return outcome;
}

}  // namespace offpath
