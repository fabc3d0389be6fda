// PacketBuilder: builds captured frames layer by layer for unit tests and fuzz seeds:
//   Packet p = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2")
//                  .tcp(40000, 80, 1000, 0, tcp_flags::kSyn).build();
//   decoder.decode(p.frame(), seg);
// Lengths, next-header fields and ethertypes are filled in by build(); every field a
// test wants to break has an override. Checksums are left zero (the decoder ignores them).
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "capture/source.hpp"
#include "common/time.hpp"
#include "decode/segment.hpp"

namespace offpath::testing {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, unsigned v) { b.push_back(static_cast<std::uint8_t>(v & 0xFFu)); }
inline void put16(Bytes& b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v);
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFFu);
}
inline void put32le(Bytes& b, std::uint32_t v) {
  put8(b, v);
  put8(b, v >> 8);
  put8(b, v >> 16);
  put8(b, v >> 24);
}
inline void set16(Bytes& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>((v >> 8) & 0xFFu);
  b[at + 1] = static_cast<std::uint8_t>(v & 0xFFu);
}

// One built frame: owns its bytes; frame() borrows them.
struct Packet {
  Bytes data;
  LinkType link = LinkType::Ethernet;
  Timestamp ts;
  std::uint32_t wire_len = 0;

  Frame frame() const {
    Frame f;
    f.ts = ts;
    f.wire_len = wire_len;
    f.link = link;
    f.bytes = ByteView(data);
    return f;
  }
  // The same frame as a capture with this snap length would have stored it.
  Packet cut(std::size_t caplen) const {
    Packet p = *this;
    if (p.data.size() > caplen) p.data.resize(caplen);
    return p;
  }
};

class PacketBuilder {
 public:
  // --- link layer ---------------------------------------------------------------
  PacketBuilder& eth() { link_ = Link::Eth; return *this; }
  // An 802.1Q (0x8100) or 802.1ad (0x88A8) tag, outermost first.
  PacketBuilder& vlan(std::uint16_t id, std::uint16_t tpid = 0x8100) {
    tags_.push_back({tpid, id});
    return *this;
  }
  PacketBuilder& sll() { link_ = Link::Sll; return *this; }
  PacketBuilder& sll2() { link_ = Link::Sll2; return *this; }
  // LinkType::Raw (101) by default, or another raw-IP link type (RawDlt = 12, ...).
  PacketBuilder& raw(LinkType type = LinkType::Raw) {
    link_ = Link::Raw;
    raw_type_ = type;
    return *this;
  }
  // BSD loopback: the address family in little-endian (a little-endian writer) or in
  // network byte order.
  PacketBuilder& null_loopback(bool little_endian, std::optional<std::uint32_t> family = {}) {
    link_ = little_endian ? Link::NullLe : Link::NullBe;
    family_ = family;
    return *this;
  }
  PacketBuilder& ethertype(std::uint16_t type) { ethertype_ = type; return *this; }
  // Bytes after the IP datagram inside the frame (Ethernet minimum-size padding).
  PacketBuilder& trailer(std::size_t n, std::uint8_t fill = 0) {
    trailer_.assign(n, fill);
    return *this;
  }

  // --- network layer ------------------------------------------------------------
  PacketBuilder& ipv4(std::string_view src, std::string_view dst) {
    ip_ = Ip::V4;
    src_ = address(AF_INET, src);
    dst_ = address(AF_INET, dst);
    return *this;
  }
  PacketBuilder& ipv4_options(Bytes options) { ip_options_ = std::move(options); return *this; }
  PacketBuilder& ipv4_fragment(bool more_fragments, std::uint16_t offset_units) {
    frag_field_ = static_cast<std::uint16_t>((more_fragments ? 0x2000u : 0u) | offset_units);
    return *this;
  }
  PacketBuilder& ipv4_total_length(std::uint16_t v) { total_length_ = v; return *this; }
  PacketBuilder& ip_version(std::uint8_t v) { version_override_ = v; return *this; }
  PacketBuilder& ipv4_ihl(std::uint8_t words) { ihl_override_ = words; return *this; }
  PacketBuilder& ipv6(std::string_view src, std::string_view dst) {
    ip_ = Ip::V6;
    src_ = address(AF_INET6, src);
    dst_ = address(AF_INET6, dst);
    return *this;
  }
  // An IPv6 extension header (0 hop-by-hop, 43 routing, 60 destination options) of
  // 8 * (1 + len_units) bytes, or a fragment header (44).
  PacketBuilder& ipv6_ext(std::uint8_t type, std::uint8_t len_units = 0) {
    ext_.push_back({type, len_units});
    return *this;
  }
  PacketBuilder& ipv6_payload_length(std::uint16_t v) { total_length_ = v; return *this; }
  PacketBuilder& protocol(std::uint8_t proto) { proto_override_ = proto; return *this; }

  // --- transport layer ----------------------------------------------------------
  PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                     std::uint32_t ack, std::uint8_t flags) {
    l4_ = L4::Tcp;
    sport_ = sport;
    dport_ = dport;
    seq_ = seq;
    ack_ = ack;
    flags_ = flags;
    return *this;
  }
  // TCP options, padded with end-of-list bytes to a multiple of 4.
  PacketBuilder& tcp_options(Bytes options) { tcp_options_ = std::move(options); return *this; }
  PacketBuilder& tcp_data_offset(std::uint8_t words) { doff_override_ = words; return *this; }
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport) {
    l4_ = L4::Udp;
    sport_ = sport;
    dport_ = dport;
    return *this;
  }
  PacketBuilder& payload(std::string_view data) {
    payload_.assign(data.begin(), data.end());
    return *this;
  }
  PacketBuilder& payload(const Bytes& data) {
    payload_ = data;
    return *this;
  }

  PacketBuilder& at(Timestamp ts) { ts_ = ts; return *this; }
  PacketBuilder& at_micros(std::int64_t micros) { ts_ = Timestamp{micros}; return *this; }

  Packet build() const {
    Bytes l4 = transport();
    Bytes l3 = network(l4);
    Packet p;
    p.ts = ts_;
    p.data = link(l3);
    p.data.insert(p.data.end(), trailer_.begin(), trailer_.end());
    p.wire_len = static_cast<std::uint32_t>(p.data.size());
    p.link = link_type();
    return p;
  }

 private:
  enum class Link { Eth, Sll, Sll2, Raw, NullLe, NullBe };
  enum class Ip { V4, V6, None };
  enum class L4 { Tcp, Udp, None };
  struct Tag { std::uint16_t tpid; std::uint16_t id; };
  struct Ext { std::uint8_t type; std::uint8_t len_units; };

  static Bytes address(int family, std::string_view text) {
    std::string s(text);
    Bytes out(family == AF_INET ? 4 : 16);
    if (inet_pton(family, s.c_str(), out.data()) != 1) {
      throw std::invalid_argument("bad address " + s);
    }
    return out;
  }

  LinkType link_type() const {
    switch (link_) {
      case Link::Eth: return LinkType::Ethernet;
      case Link::Sll: return LinkType::LinuxSll;
      case Link::Sll2: return LinkType::LinuxSll2;
      case Link::Raw: return raw_type_;
      case Link::NullLe:
      case Link::NullBe: return LinkType::Null;
    }
    return LinkType::Ethernet;
  }

  std::uint8_t l4_proto() const {
    if (proto_override_) return *proto_override_;
    return l4_ == L4::Udp ? 17 : 6;
  }

  Bytes transport() const {
    Bytes b;
    if (l4_ == L4::Tcp) {
      Bytes opts = tcp_options_;
      while (opts.size() % 4 != 0) opts.push_back(0);
      put16(b, sport_);
      put16(b, dport_);
      put32(b, seq_);
      put32(b, ack_);
      unsigned words = doff_override_ ? *doff_override_ : static_cast<unsigned>(5 + opts.size() / 4);
      put8(b, words << 4);
      put8(b, flags_);
      put16(b, 65535);  // window
      put16(b, 0);      // checksum
      put16(b, 0);      // urgent pointer
      b.insert(b.end(), opts.begin(), opts.end());
    } else if (l4_ == L4::Udp) {
      put16(b, sport_);
      put16(b, dport_);
      put16(b, static_cast<unsigned>(8 + payload_.size()));
      put16(b, 0);
    }
    b.insert(b.end(), payload_.begin(), payload_.end());
    return b;
  }

  Bytes network(const Bytes& l4) const {
    Bytes b;
    if (ip_ == Ip::V4) {
      Bytes opts = ip_options_;
      while (opts.size() % 4 != 0) opts.push_back(0);
      unsigned ihl = ihl_override_ ? *ihl_override_ : static_cast<unsigned>(5 + opts.size() / 4);
      unsigned version = version_override_ ? *version_override_ : 4u;
      put8(b, (version << 4) | (ihl & 0xFu));
      put8(b, 0);
      unsigned total = total_length_ ? *total_length_
                                     : static_cast<unsigned>(20 + opts.size() + l4.size());
      put16(b, total);
      put16(b, 0x1234);  // identification
      put16(b, frag_field_);
      put8(b, 64);
      put8(b, l4_proto());
      put16(b, 0);
      b.insert(b.end(), src_.begin(), src_.end());
      b.insert(b.end(), dst_.begin(), dst_.end());
      b.insert(b.end(), opts.begin(), opts.end());
    } else if (ip_ == Ip::V6) {
      Bytes ext;
      std::uint8_t first_next = ext_.empty() ? l4_proto() : ext_.front().type;
      for (std::size_t i = 0; i < ext_.size(); ++i) {
        std::uint8_t next = i + 1 < ext_.size() ? ext_[i + 1].type : l4_proto();
        if (ext_[i].type == 44) {  // fragment header: 8 bytes, offset 0, M = 1
          put8(ext, next);
          put8(ext, 0);
          put16(ext, 1);
          put32(ext, 0xabcd);
          continue;
        }
        std::size_t len = (static_cast<std::size_t>(ext_[i].len_units) + 1) * 8;
        put8(ext, next);
        put8(ext, ext_[i].len_units);
        put8(ext, 1);  // a PadN option filling the rest
        put8(ext, static_cast<unsigned>(len - 4));
        ext.resize(ext.size() + len - 4, 0);
      }
      unsigned version = version_override_ ? *version_override_ : 6u;
      put32(b, version << 28);
      unsigned plen = total_length_ ? *total_length_ : static_cast<unsigned>(ext.size() + l4.size());
      put16(b, plen);
      put8(b, first_next);
      put8(b, 64);
      b.insert(b.end(), src_.begin(), src_.end());
      b.insert(b.end(), dst_.begin(), dst_.end());
      b.insert(b.end(), ext.begin(), ext.end());
    }
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
  }

  std::uint16_t network_ethertype() const {
    if (ethertype_) return *ethertype_;
    return ip_ == Ip::V6 ? 0x86DD : 0x0800;
  }

  Bytes link(const Bytes& l3) const {
    Bytes b;
    switch (link_) {
      case Link::Eth: {
        for (int i = 0; i < 6; ++i) put8(b, 0x02);  // destination MAC
        for (int i = 0; i < 6; ++i) put8(b, 0x04);  // source MAC
        for (const Tag& t : tags_) {
          put16(b, t.tpid);
          put16(b, t.id);
        }
        put16(b, network_ethertype());
        break;
      }
      case Link::Sll: {
        put16(b, 0);      // packet type: to us
        put16(b, 1);      // ARPHRD_ETHER
        put16(b, 6);      // address length
        for (int i = 0; i < 8; ++i) put8(b, i < 6 ? 0x04 : 0);
        put16(b, network_ethertype());
        break;
      }
      case Link::Sll2: {
        put16(b, network_ethertype());
        put16(b, 0);      // reserved
        put32(b, 2);      // interface index
        put16(b, 1);      // ARPHRD_ETHER
        put8(b, 0);       // packet type
        put8(b, 6);       // address length
        for (int i = 0; i < 8; ++i) put8(b, i < 6 ? 0x04 : 0);
        break;
      }
      case Link::Raw:
        break;
      case Link::NullLe:
      case Link::NullBe: {
        std::uint32_t fam = family_ ? *family_ : (ip_ == Ip::V6 ? 30u : 2u);
        if (link_ == Link::NullLe) put32le(b, fam); else put32(b, fam);
        break;
      }
    }
    b.insert(b.end(), l3.begin(), l3.end());
    return b;
  }

  Link link_ = Link::Eth;
  LinkType raw_type_ = LinkType::Raw;
  std::vector<Tag> tags_;
  std::optional<std::uint16_t> ethertype_;
  std::optional<std::uint32_t> family_;
  Bytes trailer_;

  Ip ip_ = Ip::None;
  Bytes src_;
  Bytes dst_;
  Bytes ip_options_;
  std::uint16_t frag_field_ = 0x4000;  // don't fragment
  std::optional<std::uint16_t> total_length_;
  std::optional<std::uint8_t> version_override_;
  std::optional<std::uint8_t> ihl_override_;
  std::optional<std::uint8_t> proto_override_;
  std::vector<Ext> ext_;

  L4 l4_ = L4::None;
  std::uint16_t sport_ = 0;
  std::uint16_t dport_ = 0;
  std::uint32_t seq_ = 0;
  std::uint32_t ack_ = 0;
  std::uint8_t flags_ = 0;
  Bytes tcp_options_;
  std::optional<std::uint8_t> doff_override_;
  Bytes payload_;
  Timestamp ts_;
};

// An ARP request frame (ethertype 0x0806) for "not IP" cases.
inline Packet arp_frame() {
  Packet p;
  for (int i = 0; i < 6; ++i) put8(p.data, 0xFF);
  for (int i = 0; i < 6; ++i) put8(p.data, 0x04);
  put16(p.data, 0x0806);
  put16(p.data, 1);
  put16(p.data, 0x0800);
  put8(p.data, 6);
  put8(p.data, 4);
  put16(p.data, 1);
  p.data.resize(p.data.size() + 20, 0);
  p.wire_len = static_cast<std::uint32_t>(p.data.size());
  p.link = LinkType::Ethernet;
  return p;
}

}  // namespace offpath::testing
