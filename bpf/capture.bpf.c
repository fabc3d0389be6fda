// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TC clsact capture of HTTP-bearing TCP packets for offpath (--capture ebpf).
 *
 * Attached by src/capture/ebpf_source.cpp to the ingress (offpath_ingress) and egress
 * (offpath_egress) hooks of each chosen interface. For every packet it:
 *   1. keeps only IPv4/IPv6 TCP; encapsulated frames (VLAN, MPLS, PPPoE, 802.2 LLC, GRE,
 *      IP-in-IP, UDP to the VXLAN, Geneve, GTP-U or Teredo port) and IP fragments (but
 *      IPv6 atomic fragments) skip steps 2 and 3: user space decodes and filters them;
 *   2. keeps it only if one side's port is a server port (`server_ports`, when set) and
 *      the addresses fall in the client and server networks (`client_nets`,
 *      `server_nets`, when set), in either orientation;
 *   3. drops payload-less ACKs (SYN, FIN and RST are always kept);
 *   4. copies the packet, up to `snaplen`, into the `events` ring buffer behind a
 *      struct offpath_record header (bpf/offpath_abi.h).
 * Every decision is counted in the per-CPU `counters` array. The program never changes
 * or drops a packet: it always returns TC_ACT_UNSPEC, so the next filter runs as if it
 * were not there.
 *
 * Configuration (rodata) is set by user space between open and load; maps are filled
 * after load and before attach.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "offpath_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Not in BTF (they are macros in the UAPI headers). */
#define TC_ACT_UNSPEC (-1)
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_802_2 0x0004
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_P_QINQ_OLD 0x9100
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define ETH_P_PPP_SES 0x8864
#define IPPROTO_TCP_NUM 6
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define IPV6_EXT_MAX 6

const volatile __u32 snaplen = OFFPATH_MAX_FRAME;
const volatile __u8 filter_ports = 0;        /* 1: server_ports holds the server ports */
const volatile __u8 filter_client_nets = 0;  /* 1: client_nets holds the client networks */
const volatile __u8 filter_server_nets = 0;  /* 1: server_nets holds the server networks */
/*
 * Wake the reader only once this much is waiting; below it the reader finds the
 * records on its next timed poll. Batches wake-ups under load (one per packet would
 * cost a context switch each). 0: wake on every record.
 */
const volatile __u64 wakeup_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, OFFPATH_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OFFPATH_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFPATH_MAX_PORTS);
	__type(key, __u16); /* host byte order */
	__type(value, __u8);
} server_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, OFFPATH_MAX_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct offpath_net_key);
	__type(value, __u8);
} client_nets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, OFFPATH_MAX_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct offpath_net_key);
	__type(value, __u8);
} server_nets SEC(".maps");

/* What the headers say about one packet. */
struct pkt_info {
	__u8 src[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u8 dst[16];
	__u16 sport;  /* host byte order */
	__u16 dport;
	__u8 tcp_flags;
	__u8 has_payload; /* 0 only when the IP length proves there is none */
};

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n;
}

/* TCP ports, flags and header length at `off` from the network header. */
static __always_inline int read_tcp(struct __sk_buff *skb, __u32 off, struct pkt_info *p,
				    __u32 *tcp_len)
{
	__u8 th[20];

	if (bpf_skb_load_bytes_relative(skb, off, th, sizeof(th), BPF_HDR_START_NET))
		return -1;
	p->sport = ((__u16)th[0] << 8) | th[1];
	p->dport = ((__u16)th[2] << 8) | th[3];
	p->tcp_flags = th[13];
	*tcp_len = (__u32)(th[12] >> 4) * 4;
	if (*tcp_len < 20)
		return -1;
	return 0;
}

/* Link types whose frames carry IP behind another header: user space decodes them. */
static __always_inline int encapsulating_ethertype(__u16 proto)
{
	return proto == bpf_htons(ETH_P_802_2) || proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD) || proto == bpf_htons(ETH_P_QINQ_OLD) ||
	       proto == bpf_htons(ETH_P_MPLS_UC) || proto == bpf_htons(ETH_P_MPLS_MC) ||
	       proto == bpf_htons(ETH_P_PPP_SES);
}

/*
 * For an IP payload other than TCP at `off`: OFFPATH_CNT_SUBMITTED_UNFILTERED for a
 * tunnel (IPv4/IPv6 in IP, GRE, UDP to a tunnel port), else OFFPATH_CNT_SKIP_NOT_TCP.
 */
static __always_inline __u32 tunnel_or_not_tcp(struct __sk_buff *skb, __u8 proto, __u32 off)
{
	__u8 udp[4];
	__u16 sport, dport;

	if (proto == 4 || proto == 41 || proto == 47)
		return OFFPATH_CNT_SUBMITTED_UNFILTERED;
	if (proto != 17)
		return OFFPATH_CNT_SKIP_NOT_TCP;
	if (bpf_skb_load_bytes_relative(skb, off, udp, sizeof(udp), BPF_HDR_START_NET))
		return OFFPATH_CNT_SKIP_MALFORMED;
	sport = ((__u16)udp[0] << 8) | udp[1];
	dport = ((__u16)udp[2] << 8) | udp[3];
	if (dport == 4789 || dport == 6081 || dport == 2152 || sport == 3544 || dport == 3544)
		return OFFPATH_CNT_SUBMITTED_UNFILTERED;
	return OFFPATH_CNT_SKIP_NOT_TCP;
}

/* Returns an OFFPATH_CNT_SKIP_* reason, or OFFPATH_CNT_SUBMITTED(_UNFILTERED) to go on. */
static __always_inline __u32 parse_ipv4(struct __sk_buff *skb, struct pkt_info *p)
{
	__u8 ip[20];
	__u32 ihl, tcp_len, tot;

	if (bpf_skb_load_bytes_relative(skb, 0, ip, sizeof(ip), BPF_HDR_START_NET))
		return OFFPATH_CNT_SKIP_MALFORMED;
	if ((ip[0] >> 4) != 4)
		return OFFPATH_CNT_SKIP_MALFORMED;
	ihl = (__u32)(ip[0] & 0x0f) * 4;
	if (ihl < 20)
		return OFFPATH_CNT_SKIP_MALFORMED;
	/* Any fragment (more fragments, or an offset): user space reassembles it. */
	if ((((__u16)ip[6] << 8) | ip[7]) & 0x3fff)
		return OFFPATH_CNT_SUBMITTED_UNFILTERED;
	if (ip[9] != IPPROTO_TCP_NUM)
		return tunnel_or_not_tcp(skb, ip[9], ihl);
	__builtin_memset(p->src, 0, 10);
	p->src[10] = 0xff;
	p->src[11] = 0xff;
	__builtin_memcpy(&p->src[12], &ip[12], 4);
	__builtin_memset(p->dst, 0, 10);
	p->dst[10] = 0xff;
	p->dst[11] = 0xff;
	__builtin_memcpy(&p->dst[12], &ip[16], 4);
	if (read_tcp(skb, ihl, p, &tcp_len))
		return OFFPATH_CNT_SKIP_MALFORMED;
	tot = ((__u32)ip[2] << 8) | ip[3];
	/* tot_len 0 (BIG TCP) or shorter than the headers: not provably empty, keep. */
	p->has_payload = tot != ihl + tcp_len;
	return OFFPATH_CNT_SUBMITTED;
}

static __always_inline __u32 parse_ipv6(struct __sk_buff *skb, struct pkt_info *p)
{
	__u8 ip[40];
	__u8 ext[8];
	__u32 off = 40, tcp_len, plen;
	__u8 next;
	int i;

	if (bpf_skb_load_bytes_relative(skb, 0, ip, sizeof(ip), BPF_HDR_START_NET))
		return OFFPATH_CNT_SKIP_MALFORMED;
	if ((ip[0] >> 4) != 6)
		return OFFPATH_CNT_SKIP_MALFORMED;
	next = ip[6];
	__builtin_memcpy(p->src, &ip[8], 16);
	__builtin_memcpy(p->dst, &ip[24], 16);

	for (i = 0; i < IPV6_EXT_MAX; i++) {
		if (next == IPPROTO_TCP_NUM)
			break;
		if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60)
			break;
		if (bpf_skb_load_bytes_relative(skb, off, ext, sizeof(ext), BPF_HDR_START_NET))
			return OFFPATH_CNT_SKIP_MALFORMED;
		if (next == 44) { /* fragment header: offset above 3 bits, M the lowest bit */
			if ((((__u16)ext[2] << 8) | ext[3]) != 0)
				return OFFPATH_CNT_SUBMITTED_UNFILTERED;
			off += 8; /* atomic fragment: the whole packet */
		} else if (next == 51) { /* AH: length in 4-byte units, minus 2 */
			off += ((__u32)ext[1] + 2) * 4;
		} else {
			off += ((__u32)ext[1] + 1) * 8;
		}
		next = ext[0];
	}
	if (off > 512)
		return OFFPATH_CNT_SKIP_MALFORMED;
	if (next != IPPROTO_TCP_NUM)
		return tunnel_or_not_tcp(skb, next, off);
	if (read_tcp(skb, off, p, &tcp_len))
		return OFFPATH_CNT_SKIP_MALFORMED;
	plen = ((__u32)ip[4] << 8) | ip[5];
	/* payload_len 0 is a jumbogram (BIG TCP): not provably empty, keep. */
	p->has_payload = plen == 0 || plen + 40 != off + tcp_len;
	return OFFPATH_CNT_SUBMITTED;
}

static __always_inline int port_ok(__u16 port)
{
	if (!filter_ports)
		return 1;
	return bpf_map_lookup_elem(&server_ports, &port) != NULL;
}

static __always_inline int net_ok(void *map, __u8 enabled, const __u8 *addr)
{
	struct offpath_net_key key = {.prefixlen = 128};

	if (!enabled)
		return 1;
	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(map, &key) != NULL;
}

/*
 * Reserves a record with room for `size` bytes of packet (a constant in each inlined
 * copy, as bpf_ringbuf_reserve requires), copies `cap` of them and submits it.
 */
static __always_inline int emit_sized(struct __sk_buff *skb, __u8 dir, __u32 cap,
				      const __u32 size)
{
	struct offpath_record *rec;
	__u32 n = cap;

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec) + size, 0);
	if (!rec) {
		count(OFFPATH_CNT_LOST_RINGBUF_FULL, 1);
		return TC_ACT_UNSPEC;
	}
	/* Keep the bound visible to the verifier whatever the compiler proved. */
	asm volatile("" : "+r"(n));
	if (n > size)
		n = size;
	if (n == 0) {
		bpf_ringbuf_discard(rec, 0);
		count(OFFPATH_CNT_SKIP_MALFORMED, 1);
		return TC_ACT_UNSPEC;
	}
	if (bpf_skb_load_bytes(skb, 0, (void *)(rec + 1), n)) {
		bpf_ringbuf_discard(rec, 0);
		count(OFFPATH_CNT_LOST_COPY_FAILED, 1);
		return TC_ACT_UNSPEC;
	}
	rec->ts_mono_ns = bpf_ktime_get_ns();
	rec->wire_len = skb->len;
	rec->cap_len = n;
	rec->ifindex = skb->ifindex;
	rec->version = OFFPATH_ABI_VERSION;
	rec->direction = dir;
	rec->flags = n < skb->len ? OFFPATH_RECORD_TRUNCATED : 0;
	rec->pad0 = 0;
	if (n < skb->len)
		count(OFFPATH_CNT_TRUNCATED, 1);
	count(OFFPATH_CNT_SUBMITTED, 1);
	count(OFFPATH_CNT_SUBMITTED_BYTES, n);
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
					? BPF_RB_FORCE_WAKEUP
					: BPF_RB_NO_WAKEUP);
	return TC_ACT_UNSPEC;
}

/* Size classes: a record takes at most twice the room its packet needs. */
#define EMIT_IF_FITS(N)                                  \
	if (cap <= (N))                                  \
		return emit_sized(skb, dir, cap, (N));

static __always_inline int capture(struct __sk_buff *skb, __u8 dir)
{
	struct pkt_info p = {};
	__u32 verdict, cap;
	int a, b;

	count(OFFPATH_CNT_SEEN, 1);
	if (skb->protocol == bpf_htons(ETH_P_IP))
		verdict = parse_ipv4(skb, &p);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		verdict = parse_ipv6(skb, &p);
	else if (encapsulating_ethertype(skb->protocol))
		verdict = OFFPATH_CNT_SUBMITTED_UNFILTERED;
	else
		verdict = OFFPATH_CNT_SKIP_NOT_TCP;
	if (verdict == OFFPATH_CNT_SUBMITTED_UNFILTERED) {
		count(OFFPATH_CNT_SUBMITTED_UNFILTERED, 1);
		goto copy;
	}
	if (verdict != OFFPATH_CNT_SUBMITTED) {
		count(verdict, 1);
		return TC_ACT_UNSPEC;
	}

	/* Orientation a: source is the client; b: destination is the client. */
	a = port_ok(p.dport);
	b = port_ok(p.sport);
	if (!a && !b) {
		count(OFFPATH_CNT_SKIP_PORT, 1);
		return TC_ACT_UNSPEC;
	}
	a = a && net_ok(&client_nets, filter_client_nets, p.src) &&
	    net_ok(&server_nets, filter_server_nets, p.dst);
	b = b && net_ok(&client_nets, filter_client_nets, p.dst) &&
	    net_ok(&server_nets, filter_server_nets, p.src);
	if (!a && !b) {
		count(OFFPATH_CNT_SKIP_ADDRESS, 1);
		return TC_ACT_UNSPEC;
	}
	if (!p.has_payload &&
	    !(p.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST))) {
		count(OFFPATH_CNT_SKIP_EMPTY_ACK, 1);
		return TC_ACT_UNSPEC;
	}

copy:
	cap = skb->len;
	if (cap > snaplen)
		cap = snaplen;
	if (cap > OFFPATH_MAX_FRAME)
		cap = OFFPATH_MAX_FRAME;
	EMIT_IF_FITS(128)
	EMIT_IF_FITS(256)
	EMIT_IF_FITS(512)
	EMIT_IF_FITS(1024)
	EMIT_IF_FITS(1600)
	EMIT_IF_FITS(2048)
	EMIT_IF_FITS(4096)
	EMIT_IF_FITS(9216)
	EMIT_IF_FITS(16384)
	EMIT_IF_FITS(32768)
	return emit_sized(skb, dir, cap, OFFPATH_MAX_FRAME);
}

SEC("tc")
int offpath_ingress(struct __sk_buff *skb)
{
	return capture(skb, OFFPATH_DIR_INGRESS);
}

SEC("tc")
int offpath_egress(struct __sk_buff *skb)
{
	return capture(skb, OFFPATH_DIR_EGRESS);
}
