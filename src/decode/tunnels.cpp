// The link and encapsulation layers between a frame's link header and its innermost IP
// header: Ethernet (VLAN tags, 802.2 LLC/SNAP), MPLS, PPPoE, GRE (key, sequence,
// checksum) with ERSPAN I/II/III, VXLAN, Geneve, GTP-U, IP-in-IP (4in4, 6in4, 4in6,
// 6in6) and Teredo. Each reads one header and hands what it carries to the next layer.
#include <algorithm>
#include <cstdint>

#include "decode/layers.hpp"

namespace offpath::layers {
namespace {

constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;
constexpr std::uint16_t kEtherMpls = 0x8847;
constexpr std::uint16_t kEtherMplsMulticast = 0x8848;
constexpr std::uint16_t kEtherPppoeSession = 0x8864;
constexpr std::uint16_t kEtherTeb = 0x6558;       // transparent Ethernet bridging
constexpr std::uint16_t kEtherErspan2 = 0x88BE;   // ERSPAN type I (no header) and II
constexpr std::uint16_t kEtherErspan3 = 0x22EB;
constexpr std::uint16_t kSllLlc = 0x0004;         // SLL protocol: an 802.2 LLC frame
constexpr std::uint16_t kMaxLength = 0x05DC;      // at or below: 802.3 length, not a type
constexpr int kMaxVlanTags = 4;
constexpr int kMaxMplsLabels = 8;

constexpr std::uint8_t kProtoIpip = 4;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIpv6 = 41;
constexpr std::uint8_t kProtoGre = 47;

constexpr std::uint16_t kPortVxlan = 4789;
constexpr std::uint16_t kPortGeneve = 6081;
constexpr std::uint16_t kPortGtpu = 2152;
constexpr std::uint16_t kPortTeredo = 3544;

// 802.2 LLC: only SNAP (AA AA 03, OUI, ethertype) carries a protocol we decode.
DecodeOutcome llc(Walk& w, ByteView b) {
  if (b.size() < 3) return DecodeOutcome::Truncated;
  if (b[0] != 0xAA || b[1] != 0xAA || b[2] != 0x03) return DecodeOutcome::NotIp;
  if (b.size() < 8) return DecodeOutcome::Truncated;
  if (!w.enter(EncapKind::LlcSnap)) return DecodeOutcome::EncapTooDeep;
  return ethertype(w, load_be16(b.data() + 6), b.subspan(8));
}

// MPLS label stack down to the bottom-of-stack bit, then IPv4/IPv6 by version, or an
// Ethernet pseudowire behind its 4-byte control word (first nibble 0).
DecodeOutcome mpls(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Mpls)) return DecodeOutcome::EncapTooDeep;
  std::size_t off = 0;
  for (int labels = 0;; ++labels) {
    if (labels == kMaxMplsLabels) return DecodeOutcome::BadEncapHeader;
    if (b.size() < off + 4) return DecodeOutcome::Truncated;
    const bool bottom = (b[off + 2] & 0x01) != 0;
    off += 4;
    if (bottom) break;
  }
  if (b.size() <= off) return DecodeOutcome::Truncated;
  switch (b[off] >> 4) {
    case 4: return ipv4(w, b.subspan(off));
    case 6: return ipv6(w, b.subspan(off));
    case 0:
      if (b.size() < off + 4) return DecodeOutcome::Truncated;
      return ethernet(w, b.subspan(off + 4));
    default: return DecodeOutcome::BadEncapHeader;
  }
}

// PPPoE session (RFC 2516): version/type 0x11, code 0, then a PPP protocol number (two
// bytes, or one when protocol field compression made it odd-valued, RFC 1661).
DecodeOutcome pppoe(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Pppoe)) return DecodeOutcome::EncapTooDeep;
  if (b.size() < 7) return DecodeOutcome::Truncated;
  if (b[0] != 0x11 || b[1] != 0x00) return DecodeOutcome::BadEncapHeader;
  const std::size_t len = load_be16(b.data() + 4);  // PPP protocol + payload
  const bool compressed = (b[6] & 0x01) != 0;
  const std::size_t proto_len = compressed ? 1 : 2;
  if (len < proto_len) return DecodeOutcome::BadEncapHeader;
  if (b.size() < 6 + proto_len) return DecodeOutcome::Truncated;
  const std::uint16_t proto = compressed ? b[6] : load_be16(b.data() + 6);
  ByteView ppp = b.subspan(6 + proto_len, std::min(b.size() - 6 - proto_len, len - proto_len));
  switch (proto) {
    case 0x0021: return ipv4(w, ppp);
    case 0x0057: return ipv6(w, ppp);
    default: return DecodeOutcome::NotIp;  // LCP, IPCP, ...
  }
}

// ERSPAN behind GRE: type I has no header (GRE without a sequence number), type II an
// 8-byte header, type III a 12-byte one plus an 8-byte platform subheader when O is set.
DecodeOutcome erspan(Walk& w, std::uint16_t type, bool gre_seq, ByteView b) {
  if (!w.enter(EncapKind::Erspan)) return DecodeOutcome::EncapTooDeep;
  std::size_t off = 0;
  if (type == kEtherErspan3) {
    if (b.size() < 12) return DecodeOutcome::Truncated;
    if ((b[0] >> 4) != 2) return DecodeOutcome::BadEncapHeader;
    off = (b[11] & 0x01) != 0 ? 20 : 12;
  } else if (gre_seq) {
    if (b.size() < 8) return DecodeOutcome::Truncated;
    if ((b[0] >> 4) != 1) return DecodeOutcome::BadEncapHeader;
    off = 8;
  }
  if (b.size() < off) return DecodeOutcome::Truncated;
  return ethernet(w, b.subspan(off));
}

// GRE version 0 (RFC 2784/2890): optional checksum, key and sequence number words.
DecodeOutcome gre(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Gre)) return DecodeOutcome::EncapTooDeep;
  if (b.size() < 4) return DecodeOutcome::Truncated;
  const std::uint16_t flags = load_be16(b.data());
  if ((flags & 0x0007) != 0) return DecodeOutcome::NotTcp;         // version 1: PPTP
  if ((flags & 0x4000) != 0) return DecodeOutcome::BadEncapHeader; // routing: deprecated
  const bool seq = (flags & 0x1000) != 0;
  std::size_t off = 4;
  if ((flags & 0x8000) != 0) off += 4;  // checksum + reserved
  if ((flags & 0x2000) != 0) off += 4;  // key
  if (seq) off += 4;
  if (b.size() < off) return DecodeOutcome::Truncated;
  const std::uint16_t type = load_be16(b.data() + 2);
  ByteView inner = b.subspan(off);
  if (type == kEtherErspan2 || type == kEtherErspan3) return erspan(w, type, seq, inner);
  if (type == kEtherTeb) return ethernet(w, inner);
  return ethertype(w, type, inner);
}

// GTP-U G-PDU (3GPP TS 29.281): 8-byte header, the optional word when E, S or PN is set,
// then the chain of extension headers (length in 4-byte units, next type last).
DecodeOutcome gtpu(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Gtpu)) return DecodeOutcome::EncapTooDeep;
  if (b.size() < 8) return DecodeOutcome::Truncated;
  if ((b[0] >> 5) != 1 || (b[0] & 0x10) == 0) return DecodeOutcome::BadEncapHeader;
  if (b[1] != 0xFF) return DecodeOutcome::NotTcp;  // echo, error indication, ...
  std::size_t off = 8;
  if ((b[0] & 0x07) != 0) {
    if (b.size() < 12) return DecodeOutcome::Truncated;
    std::uint8_t next = b[11];
    off = 12;
    for (int exts = 0; next != 0; ++exts) {
      if (exts == 8) return DecodeOutcome::BadEncapHeader;
      if (b.size() < off + 1) return DecodeOutcome::Truncated;
      const std::size_t len = static_cast<std::size_t>(b[off]) * 4;
      if (len == 0) return DecodeOutcome::BadEncapHeader;
      if (b.size() < off + len) return DecodeOutcome::Truncated;
      next = b[off + len - 1];
      off += len;
    }
  }
  if (b.size() <= off) return DecodeOutcome::Truncated;
  return ethertype(w, kEtherByVersion, b.subspan(off));
}

// Geneve (RFC 8926): version 0, options length in 4-byte units, protocol type.
DecodeOutcome geneve(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Geneve)) return DecodeOutcome::EncapTooDeep;
  if (b.size() < 8) return DecodeOutcome::Truncated;
  if ((b[0] >> 6) != 0) return DecodeOutcome::BadEncapHeader;
  const std::size_t off = 8 + static_cast<std::size_t>(b[0] & 0x3F) * 4;
  if (b.size() < off) return DecodeOutcome::Truncated;
  const std::uint16_t type = load_be16(b.data() + 2);
  if (type == kEtherTeb) return ethernet(w, b.subspan(off));
  return ethertype(w, type, b.subspan(off));
}

// VXLAN (RFC 7348): 8-byte header with the I flag, then an Ethernet frame.
DecodeOutcome vxlan(Walk& w, ByteView b) {
  if (!w.enter(EncapKind::Vxlan)) return DecodeOutcome::EncapTooDeep;
  if (b.size() < 8) return DecodeOutcome::Truncated;
  if ((b[0] & 0x08) == 0) return DecodeOutcome::BadEncapHeader;
  return ethernet(w, b.subspan(8));
}

// Teredo (RFC 4380): IPv6 in UDP, after an optional authentication indicator (0x0001)
// and origin indication (0x0000). Anything else on the port is not ours: NotTcp.
DecodeOutcome teredo(Walk& w, ByteView b) {
  std::size_t off = 0;
  if (b.size() >= 4 && b[0] == 0x00 && b[1] == 0x01) {
    // Indicator, ID and AU lengths, client ID, authentication value, nonce, confirmation.
    off = 4 + static_cast<std::size_t>(b[2]) + b[3] + 8 + 1;
  }
  if (b.size() >= off + 2 && b[off] == 0x00 && b[off + 1] == 0x00) off += 8;
  if (b.size() <= off || (b[off] >> 4) != 6) return DecodeOutcome::NotTcp;
  if (!w.enter(EncapKind::Teredo)) return DecodeOutcome::EncapTooDeep;
  return ipv6(w, b.subspan(off));
}

DecodeOutcome udp(Walk& w, ByteView b) {
  if (b.size() < 8) return DecodeOutcome::NotTcp;
  const std::uint16_t sport = load_be16(b.data());
  const std::uint16_t dport = load_be16(b.data() + 2);
  const std::size_t len = load_be16(b.data() + 4);
  if (len < 8) return DecodeOutcome::NotTcp;
  ByteView payload = b.subspan(8, std::min(b.size(), len) - 8);
  switch (dport) {
    case kPortVxlan: return vxlan(w, payload);
    case kPortGeneve: return geneve(w, payload);
    case kPortGtpu: return gtpu(w, payload);
    default: break;
  }
  if (sport == kPortTeredo || dport == kPortTeredo) return teredo(w, payload);
  return DecodeOutcome::NotTcp;
}

}  // namespace

DecodeOutcome ethernet(Walk& w, ByteView b) {
  if (b.size() < 14) return DecodeOutcome::Truncated;
  std::uint16_t type = load_be16(b.data() + 12);
  std::size_t off = 14;
  for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld; ++tags) {
    if (tags == kMaxVlanTags) return DecodeOutcome::BadLinkHeader;
    if (b.size() < off + 4) return DecodeOutcome::Truncated;
    if (!w.enter(EncapKind::Vlan)) return DecodeOutcome::EncapTooDeep;
    type = load_be16(b.data() + off + 2);
    off += 4;
  }
  if (type <= kMaxLength) return llc(w, b.subspan(off));
  return ethertype(w, type, b.subspan(off));
}

DecodeOutcome ethertype(Walk& w, std::uint16_t type, ByteView b) {
  switch (type) {
    case kEtherIpv4: return ipv4(w, b);
    case kEtherIpv6: return ipv6(w, b);
    case kEtherByVersion:
      if (b.empty()) return DecodeOutcome::Truncated;
      switch (b[0] >> 4) {
        case 4: return ipv4(w, b);
        case 6: return ipv6(w, b);
        default: return DecodeOutcome::NotIp;
      }
    case kEtherMpls:
    case kEtherMplsMulticast: return mpls(w, b);
    case kEtherPppoeSession: return pppoe(w, b);
    case kSllLlc: return llc(w, b);
    default: return DecodeOutcome::NotIp;
  }
}

DecodeOutcome ip_payload(Walk& w, std::uint8_t protocol, bool outer_v6, ByteView b) {
  switch (protocol) {
    case kProtoIpip:
      if (!w.enter(outer_v6 ? EncapKind::Ip4in6 : EncapKind::Ipip)) return DecodeOutcome::EncapTooDeep;
      return ipv4(w, b);
    case kProtoIpv6:
      if (!w.enter(outer_v6 ? EncapKind::Ip6in6 : EncapKind::Ip6in4)) return DecodeOutcome::EncapTooDeep;
      return ipv6(w, b);
    case kProtoGre: return gre(w, b);
    case kProtoUdp: return udp(w, b);
    default: return DecodeOutcome::NotTcp;
  }
}

}  // namespace offpath::layers
