/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the kernel side (bpf/capture.bpf.c) and the user side
 * (src/capture/ebpf_source.cpp) of the eBPF capture backend: the layout of a packet
 * record in the `events` ring buffer, the keys of the filter maps, and the indices of
 * the `counters` map. C only, fixed-width __u types, explicit padding; the C++ side adds
 * static_assert checks of every size and offset and never a second copy of a struct.
 *
 * Rules: enums are append-only (a retired value stays reserved); any change to a struct
 * bumps OFFPATH_ABI_VERSION, which every record carries.
 */
#ifndef OFFPATH_ABI_H
#define OFFPATH_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OFFPATH_ABI_VERSION 1

/*
 * Largest frame copied whole: an IPv4 or IPv6 packet of 65535 bytes plus its link header
 * and up to two VLAN tags, rounded up. TSO/GSO and GRO super-packets are never larger
 * unless BIG TCP is on; a longer skb is copied up to this size, flagged
 * OFFPATH_RECORD_TRUNCATED and counted in OFFPATH_CNT_TRUNCATED.
 */
#define OFFPATH_MAX_FRAME 65600

/* Default ring buffer size; user space overrides it (--buffer-mb) before load. */
#define OFFPATH_RINGBUF_BYTES (64 * 1024 * 1024)

/* Entries in each filter map (server ports, client and server networks). */
#define OFFPATH_MAX_PORTS 1024
#define OFFPATH_MAX_NETS 1024

enum offpath_direction {
	OFFPATH_DIR_INGRESS = 0,  /* received by the interface */
	OFFPATH_DIR_EGRESS = 1,   /* sent by the interface */
};

/* Bits of offpath_record.flags. */
enum offpath_record_flags {
	OFFPATH_RECORD_TRUNCATED = 1 << 0,  /* cap_len < wire_len */
};

/*
 * One record in the `events` ring buffer: this header, then cap_len bytes of the packet
 * as TC sees it (from the MAC header on Ethernet devices, from the IP header on devices
 * without a link header). 24 bytes, 8-byte aligned.
 */
struct offpath_record {
	__u64 ts_mono_ns;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, converted by user space */
	__u32 wire_len;    /* skb->len: the whole (super-)packet */
	__u32 cap_len;     /* bytes of packet data following this header */
	__u32 ifindex;     /* interface the program is attached to */
	__u8 version;      /* OFFPATH_ABI_VERSION */
	__u8 direction;    /* enum offpath_direction */
	__u8 flags;        /* enum offpath_record_flags */
	__u8 pad0;
};

/*
 * Key of the `client_nets` and `server_nets` LPM tries. IPv4 addresses are stored
 * IPv4-mapped (::ffff:a.b.c.d), their prefix length plus 96.
 */
struct offpath_net_key {
	__u32 prefixlen;
	__u8 addr[16];  /* network byte order */
};

/*
 * Indices of the `counters` per-CPU array: what the program did with each packet it
 * saw. Every packet lands in exactly one of the OFFPATH_CNT_SKIP_* or
 * OFFPATH_CNT_SUBMITTED/LOST_* counters; TRUNCATED and SUBMITTED_BYTES come on top.
 */
enum offpath_counter {
	OFFPATH_CNT_SEEN = 0,              /* packets the program ran on */
	OFFPATH_CNT_SKIP_NOT_TCP = 1,      /* not IPv4/IPv6 TCP */
	OFFPATH_CNT_SKIP_MALFORMED = 2,    /* headers unreadable or inconsistent */
	OFFPATH_CNT_SKIP_FRAGMENT = 3,     /* retired: fragments are SUBMITTED_UNFILTERED */
	OFFPATH_CNT_SKIP_PORT = 4,         /* no server port matched */
	OFFPATH_CNT_SKIP_ADDRESS = 5,      /* port matched, client/server networks did not */
	OFFPATH_CNT_SKIP_EMPTY_ACK = 6,    /* no payload and no SYN, FIN or RST */
	OFFPATH_CNT_SUBMITTED = 7,         /* records handed to user space */
	OFFPATH_CNT_LOST_RINGBUF_FULL = 8, /* ring buffer had no room: lost */
	OFFPATH_CNT_LOST_COPY_FAILED = 9,  /* bpf_skb_load_bytes failed: lost */
	OFFPATH_CNT_TRUNCATED = 10,        /* submitted with cap_len < wire_len */
	OFFPATH_CNT_SUBMITTED_BYTES = 11,  /* sum of cap_len of submitted records */
	/*
	 * Submitted whole, without the port, address and empty-ACK filters: encapsulated
	 * frames (VLAN, MPLS, PPPoE, 802.2 LLC, GRE, IP-in-IP, UDP to a tunnel port) and IP
	 * fragments, whose TCP ports the program does not read. User space decodes them
	 * and applies --port to the inner segment. Counted on top of SUBMITTED.
	 */
	OFFPATH_CNT_SUBMITTED_UNFILTERED = 12,
	OFFPATH_CNT_MAX = 13,              /* number of counters; keep last */
};

#endif /* OFFPATH_ABI_H */
