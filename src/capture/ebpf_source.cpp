#include "capture/ebpf_source.hpp"

// <net/if.h> before any <linux/...> header: both define struct ifreq.
#include <net/if.h>
#include <net/if_arp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "capture/live_source.hpp"
#include "offpath_capture_bpf.skel.h"

namespace offpath {

// The record layout is shared with the kernel through offpath_abi.h; these pin it.
static_assert(sizeof(struct offpath_record) == 24);
static_assert(offsetof(struct offpath_record, ts_mono_ns) == 0);
static_assert(offsetof(struct offpath_record, wire_len) == 8);
static_assert(offsetof(struct offpath_record, cap_len) == 12);
static_assert(offsetof(struct offpath_record, ifindex) == 16);
static_assert(offsetof(struct offpath_record, version) == 20);
static_assert(offsetof(struct offpath_record, direction) == 21);
static_assert(offsetof(struct offpath_record, flags) == 22);
static_assert(sizeof(struct offpath_net_key) == 20);
static_assert(offsetof(struct offpath_net_key, addr) == 4);

namespace {

// Records below the wake-up threshold wait for the next timed poll: the longest a
// frame sits in the ring on a quiet link.
constexpr int kPollTimeoutMs = 20;
constexpr auto kIdleInterval = std::chrono::seconds(1);
constexpr auto kClockRefresh = std::chrono::seconds(1);
constexpr std::uint32_t kParentIngress = 0xFFFFFFF2u;  // TC_H_MAKE(TC_H_CLSACT, MIN_INGRESS)
constexpr std::uint32_t kParentEgress = 0xFFFFFFF3u;   // TC_H_MAKE(TC_H_CLSACT, MIN_EGRESS)

const char* const kPrivilegeHint =
    "needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (or root): grant them with "
    "AmbientCapabilities= in the systemd unit, or securityContext.capabilities in the "
    "DaemonSet";

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

struct SkeletonDeleter {
  void operator()(offpath_capture_bpf* skel) const { offpath_capture_bpf__destroy(skel); }
};
using SkeletonPtr = std::unique_ptr<offpath_capture_bpf, SkeletonDeleter>;

struct RingBufferDeleter {
  void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
};
using RingBufferPtr = std::unique_ptr<ring_buffer, RingBufferDeleter>;

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

bool is_privilege_error(int err) {
  err = err < 0 ? -err : err;
  return err == EPERM || err == EACCES;
}

Timestamp wall_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return Timestamp{us.count()};
}

// Set while probing TC state whose absence is expected (no filter at our handle yet,
// a clsact qdisc already there): libbpf would print the kernel's refusal as a warning.
std::atomic<int> g_quiet_libbpf{0};

struct QuietLibbpf {
  QuietLibbpf() { g_quiet_libbpf.fetch_add(1); }
  ~QuietLibbpf() { g_quiet_libbpf.fetch_sub(1); }
  QuietLibbpf(const QuietLibbpf&) = delete;
  QuietLibbpf& operator=(const QuietLibbpf&) = delete;
};

// libbpf's own messages ("libbpf: ..."): warnings go to stderr, the rest is dropped.
int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level != LIBBPF_WARN || g_quiet_libbpf.load() > 0) return 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return std::vfprintf(stderr, format, args);
#pragma GCC diagnostic pop
}

// The link type of TC's view of an interface: Ethernet for Ethernet-like devices (veth,
// physical NICs, bridges, loopback), Raw for devices without a link header.
Result<LinkType> interface_link_type(const std::string& name) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return make_error("socket: " + errno_text(errno));
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name.c_str());
  if (::ioctl(sock.get(), SIOCGIFHWADDR, &ifr) != 0) {
    return make_error("interface '" + name + "': " + errno_text(errno));
  }
  switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
      return LinkType::Ethernet;
    case ARPHRD_NONE:
      return LinkType::Raw;
    default:
      return make_error("interface '" + name + "': link type " +
                        std::to_string(ifr.ifr_hwaddr.sa_family) +
                        " is not supported by --capture ebpf (use --capture pcap)");
  }
}

// One instance per interface and network namespace: an abstract socket, scoped to the
// namespace and released by the kernel when its owner dies, however it dies.
Result<UniqueFd> take_instance_lock(const std::string& name, unsigned ifindex) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return make_error("socket: " + errno_text(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string id = "offpath-ebpf-if" + std::to_string(ifindex);
  std::memcpy(addr.sun_path + 1, id.data(), id.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + id.size());
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno == EADDRINUSE) {
      return make_error("another offpath is already capturing on '" + name +
                        "' with --capture ebpf (one instance per interface; use "
                        "--capture pcap for a second observer)");
    }
    return make_error("instance lock for '" + name + "': " + errno_text(errno));
  }
  return sock;
}

// Number of TC filters on one clsact hook (`tc filter show dev X ingress`), by netlink.
Result<int> count_tc_filters(int ifindex, std::uint32_t parent) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.get() < 0) return make_error("netlink socket: " + errno_text(errno));
  struct {
    nlmsghdr nh;
    tcmsg tc;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETTFILTER;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.tc.tcm_family = AF_UNSPEC;
  req.tc.tcm_ifindex = ifindex;
  req.tc.tcm_parent = parent;
  if (::send(sock.get(), &req, sizeof req, 0) < 0) {
    return make_error("netlink send: " + errno_text(errno));
  }
  int count = 0;
  std::vector<char> buf(64 * 1024);
  for (int round = 0; round < 1000; ++round) {
    ssize_t n = ::recv(sock.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("netlink recv: " + errno_text(errno));
    }
    std::size_t off = 0, total = static_cast<std::size_t>(n);
    while (off + sizeof(nlmsghdr) <= total) {
      nlmsghdr nh;
      std::memcpy(&nh, buf.data() + off, sizeof nh);
      if (nh.nlmsg_len < sizeof(nlmsghdr) || off + nh.nlmsg_len > total) {
        return make_error("netlink: malformed reply");
      }
      if (nh.nlmsg_type == NLMSG_DONE) return count;
      if (nh.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr err{};
        if (nh.nlmsg_len >= sizeof(nlmsghdr) + sizeof err) {
          std::memcpy(&err, buf.data() + off + sizeof(nlmsghdr), sizeof err);
        }
        if (err.error == 0) return count;
        return make_error("netlink filter dump: " + errno_text(err.error));
      }
      if (nh.nlmsg_type == RTM_NEWTFILTER) ++count;
      off += (nh.nlmsg_len + 3u) & ~std::size_t{3};
    }
  }
  return make_error("netlink filter dump: no end");
}

bpf_tc_hook make_hook(int ifindex, bpf_tc_attach_point point) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = point;
  return hook;
}

bpf_tc_opts filter_id() {
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  return opts;
}

std::uint32_t program_id(int prog_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return 0;
  return info.id;
}

}  // namespace

const char* to_string(enum offpath_counter counter) {
  switch (counter) {
    case OFFPATH_CNT_SEEN: return "seen";
    case OFFPATH_CNT_SKIP_NOT_TCP: return "skip_not_tcp";
    case OFFPATH_CNT_SKIP_MALFORMED: return "skip_malformed";
    case OFFPATH_CNT_SKIP_FRAGMENT: return "skip_fragment";
    case OFFPATH_CNT_SKIP_PORT: return "skip_port";
    case OFFPATH_CNT_SKIP_ADDRESS: return "skip_address";
    case OFFPATH_CNT_SKIP_EMPTY_ACK: return "skip_empty_ack";
    case OFFPATH_CNT_SUBMITTED: return "submitted";
    case OFFPATH_CNT_LOST_RINGBUF_FULL: return "lost_ringbuf_full";
    case OFFPATH_CNT_LOST_COPY_FAILED: return "lost_copy_failed";
    case OFFPATH_CNT_TRUNCATED: return "truncated";
    case OFFPATH_CNT_SUBMITTED_BYTES: return "submitted_bytes";
    case OFFPATH_CNT_SUBMITTED_UNFILTERED: return "submitted_unfiltered";
    case OFFPATH_CNT_MAX: break;
  }
  return "unknown";
}

std::int64_t monotonic_to_realtime_offset_ns() {
  auto ns = [](const timespec& ts) {
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  // Realtime read between two monotonic reads: the offset is exact to half their gap.
  timespec m1{}, rt{}, m2{};
  ::clock_gettime(CLOCK_MONOTONIC, &m1);
  ::clock_gettime(CLOCK_REALTIME, &rt);
  ::clock_gettime(CLOCK_MONOTONIC, &m2);
  std::int64_t mono = ns(m1) + (ns(m2) - ns(m1)) / 2;
  return ns(rt) - mono;
}

Timestamp monotonic_to_timestamp(std::uint64_t mono_ns, std::int64_t offset_ns) {
  std::int64_t real_ns = static_cast<std::int64_t>(mono_ns) + offset_ns;
  return Timestamp{real_ns / 1000};
}

struct Attachment {
  std::string name;
  int ifindex = 0;
  LinkType link = LinkType::Ethernet;
  UniqueFd lock;
  bool created_qdisc = false;
  bool ingress = false;
  bool egress = false;
};

struct EbpfSource::Impl {
  SkeletonPtr skel;
  RingBufferPtr ring;
  std::vector<Attachment> attachments;
  std::unique_ptr<PcapWriter> writer;
  std::uint32_t ingress_id = 0;
  std::uint32_t egress_id = 0;
  int ncpus = 0;
  // Capture thread only.
  FrameHandler* handler = nullptr;
  std::int64_t clock_offset_ns = 0;
  std::uint64_t delivered_in_poll = 0;

  ~Impl() { detach_all(); }

  void detach_all() {
    for (auto it = attachments.rbegin(); it != attachments.rend(); ++it) detach(*it);
    attachments.clear();
  }

  void detach_one(Attachment& a, bpf_tc_attach_point point, std::uint32_t ours) {
    auto hook = make_hook(a.ifindex, point);
    auto query = filter_id();
    int rc;
    {
      QuietLibbpf quiet;
      rc = bpf_tc_query(&hook, &query);
    }
    if (rc != 0) return;  // already gone (interface removed, or flushed by someone)
    if (query.prog_id != ours) {
      std::fprintf(stderr, "offpath: not detaching the filter on %s: it is no longer ours\n",
                   a.name.c_str());
      return;
    }
    auto opts = filter_id();
    rc = bpf_tc_detach(&hook, &opts);
    if (rc != 0 && rc != -ENOENT) {
      std::fprintf(stderr, "offpath: detaching from %s failed: %s\n", a.name.c_str(),
                   errno_text(rc).c_str());
    }
  }

  void detach(Attachment& a) {
    if (a.ingress) detach_one(a, BPF_TC_INGRESS, ingress_id);
    if (a.egress) detach_one(a, BPF_TC_EGRESS, egress_id);
    a.ingress = a.egress = false;
    if (!a.created_qdisc) return;
    // Our own clsact qdisc goes too, unless someone has put a filter on it since.
    auto in = count_tc_filters(a.ifindex, kParentIngress);
    auto out = count_tc_filters(a.ifindex, kParentEgress);
    if (in && out && in.value() == 0 && out.value() == 0) {
      auto hook = make_hook(a.ifindex, static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS |
                                                                        BPF_TC_EGRESS));
      int rc = bpf_tc_hook_destroy(&hook);
      if (rc != 0 && rc != -ENOENT && rc != -EINVAL) {
        std::fprintf(stderr, "offpath: removing the clsact qdisc of %s failed: %s\n",
                     a.name.c_str(), errno_text(rc).c_str());
      }
    }
    a.created_qdisc = false;
  }

  Result<void> attach(Attachment& a) {
    auto hook = make_hook(a.ifindex, static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS |
                                                                      BPF_TC_EGRESS));
    int rc;
    {
      QuietLibbpf quiet;
      rc = bpf_tc_hook_create(&hook);
    }
    if (rc == 0) {
      a.created_qdisc = true;
    } else if (rc != -EEXIST) {  // EEXIST: keep the clsact qdisc that is there
      if (is_privilege_error(rc)) {
        return make_error("attaching to '" + a.name + "' " + kPrivilegeHint);
      }
      return make_error("cannot create the clsact qdisc on '" + a.name +
                        "': " + errno_text(rc));
    }
    struct Side {
      bpf_tc_attach_point point;
      bpf_program* prog;
      bool* attached;
      const char* name;
    };
    const Side sides[] = {
        {BPF_TC_INGRESS, skel->progs.offpath_ingress, &a.ingress, "ingress"},
        {BPF_TC_EGRESS, skel->progs.offpath_egress, &a.egress, "egress"},
    };
    for (const auto& side : sides) {
      auto side_hook = make_hook(a.ifindex, side.point);
      auto query = filter_id();
      int found;
      {
        QuietLibbpf quiet;
        found = bpf_tc_query(&side_hook, &query);
      }
      if (found == 0) {
        // We hold the interface's instance lock, so this is what a killed run left.
        std::fprintf(stderr,
                     "offpath: replacing the %s filter a previous run left on %s "
                     "(program %u)\n",
                     side.name, a.name.c_str(), query.prog_id);
      }
      auto opts = filter_id();
      opts.prog_fd = bpf_program__fd(side.prog);
      opts.flags = BPF_TC_F_REPLACE;
      rc = bpf_tc_attach(&side_hook, &opts);
      if (rc != 0) {
        if (is_privilege_error(rc)) {
          return make_error("attaching to '" + a.name + "' " + kPrivilegeHint);
        }
        return make_error("cannot attach the " + std::string(side.name) +
                          " program to '" + a.name + "': " + errno_text(rc));
      }
      *side.attached = true;
    }
    return {};
  }
};

EbpfSource::EbpfSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EbpfSource::~EbpfSource() = default;

Result<std::unique_ptr<EbpfSource>> EbpfSource::open(const LiveCaptureOptions& options) {
  if (options.interfaces.empty()) return make_error("no interface to capture on (-i)");
  if (options.buffer_mb <= 0 || options.buffer_mb > 2048) {
    return make_error("--buffer-mb must be between 1 and 2048");
  }
  if (options.snaplen <= 0) return make_error("--snaplen must be positive");
  if (!options.filter.empty()) {
    return make_error("-f filters apply to --capture pcap; with --capture ebpf use --port, "
                      "--client and --server, which are applied in the kernel");
  }
  if (options.ports.size() > OFFPATH_MAX_PORTS) {
    return make_error("--port: at most " + std::to_string(OFFPATH_MAX_PORTS) + " ports");
  }
  if (options.client_cidrs.size() > OFFPATH_MAX_NETS ||
      options.server_cidrs.size() > OFFPATH_MAX_NETS) {
    return make_error("--client/--server: at most " + std::to_string(OFFPATH_MAX_NETS) +
                      " networks each");
  }
  std::vector<Cidr> clients, servers;
  for (const auto& text : options.client_cidrs) {
    auto cidr = parse_cidr(text);
    if (!cidr) return make_error("--client: " + cidr.error().message);
    clients.push_back(cidr.value());
  }
  for (const auto& text : options.server_cidrs) {
    auto cidr = parse_cidr(text);
    if (!cidr) return make_error("--server: " + cidr.error().message);
    servers.push_back(cidr.value());
  }

  auto impl = std::make_unique<Impl>();
  for (const auto& name : options.interfaces) {
    if (name == "any") {
      return make_error("--capture ebpf attaches to named interfaces; 'any' is for "
                        "--capture pcap");
    }
    unsigned ifindex = ::if_nametoindex(name.c_str());
    if (ifindex == 0) return make_error("no such interface '" + name + "' (-i)");
    for (const auto& a : impl->attachments) {
      if (a.ifindex == static_cast<int>(ifindex)) {
        return make_error("interface '" + name + "' given twice (-i)");
      }
    }
    auto link = interface_link_type(name);
    if (!link) return link.error();
    auto lock = take_instance_lock(name, ifindex);
    if (!lock) return lock.error();
    Attachment a;
    a.name = name;
    a.ifindex = static_cast<int>(ifindex);
    a.link = link.value();
    a.lock = std::move(lock.value());
    impl->attachments.push_back(std::move(a));
  }

  libbpf_set_print(libbpf_print);
  impl->ncpus = libbpf_num_possible_cpus();
  if (impl->ncpus <= 0) {
    return make_error("cannot count CPUs: " + errno_text(impl->ncpus));
  }
  impl->skel.reset(offpath_capture_bpf__open());
  if (!impl->skel) return make_error("cannot open the eBPF program: " + errno_text(errno));
  auto& skel = *impl->skel;
  skel.rodata->snaplen = static_cast<__u32>(
      std::min<long>(options.snaplen, OFFPATH_MAX_FRAME));
  skel.rodata->filter_ports = options.ports.empty() ? 0 : 1;
  skel.rodata->filter_client_nets = clients.empty() ? 0 : 1;
  skel.rodata->filter_server_nets = servers.empty() ? 0 : 1;
  // Ring size: a power of two of pages, at least 1 MiB.
  std::uint64_t ring_bytes = 1u << 20;
  while (ring_bytes < static_cast<std::uint64_t>(options.buffer_mb) << 20) ring_bytes <<= 1;
  // Wake the reader when an eighth of the ring is waiting, long before it is full.
  skel.rodata->wakeup_bytes = ring_bytes / 8;
  if (int rc = bpf_map__set_max_entries(skel.maps.events, static_cast<__u32>(ring_bytes));
      rc != 0) {
    return make_error("cannot size the ring buffer: " + errno_text(rc));
  }
  if (int rc = offpath_capture_bpf__load(impl->skel.get()); rc != 0) {
    if (is_privilege_error(rc)) return make_error("loading the eBPF program " +
                                                  std::string(kPrivilegeHint));
    return make_error("cannot load the eBPF program: " + errno_text(rc));
  }
  impl->ingress_id = program_id(bpf_program__fd(skel.progs.offpath_ingress));
  impl->egress_id = program_id(bpf_program__fd(skel.progs.offpath_egress));

  const __u8 one = 1;
  for (auto port : options.ports) {
    __u16 key = port;
    if (int rc = bpf_map__update_elem(skel.maps.server_ports, &key, sizeof key, &one,
                                      sizeof one, BPF_ANY);
        rc != 0) {
      return make_error("--port " + std::to_string(port) + ": " + errno_text(rc));
    }
  }
  auto add_nets = [&](bpf_map* map, const std::vector<Cidr>& nets,
                      const char* flag) -> Result<void> {
    for (const auto& net : nets) {
      offpath_net_key key{};
      key.prefixlen = net.prefix;
      std::memcpy(key.addr, net.addr.data(), 16);
      if (int rc = bpf_map__update_elem(map, &key, sizeof key, &one, sizeof one, BPF_ANY);
          rc != 0) {
        return make_error(std::string(flag) + " " + net.text + ": " + errno_text(rc));
      }
    }
    return {};
  };
  if (auto r = add_nets(skel.maps.client_nets, clients, "--client"); !r) return r.error();
  if (auto r = add_nets(skel.maps.server_nets, servers, "--server"); !r) return r.error();

  auto source = std::unique_ptr<EbpfSource>(new EbpfSource(std::move(impl)));
  Impl& im = *source->impl_;
  im.ring.reset(ring_buffer__new(bpf_map__fd(skel.maps.events), &EbpfSource::on_record,
                                 source.get(), nullptr));
  if (!im.ring) return make_error("cannot open the ring buffer: " + errno_text(errno));

  if (!options.write_file.empty()) {
    LinkType link = im.attachments.front().link;
    for (const auto& a : im.attachments) {
      if (a.link != link) {
        return make_error("-w " + options.write_file +
                          ": the interfaces have different link types");
      }
    }
    auto writer = PcapWriter::open(options.write_file, link, OFFPATH_MAX_FRAME);
    if (!writer) return writer.error();
    im.writer = std::move(writer.value());
  }

  // Attach last: from here on packets flow. A failure detaches what was attached.
  for (auto& a : im.attachments) {
    if (auto r = im.attach(a); !r) return r.error();
  }
  return source;
}

std::string EbpfSource::describe() const {
  std::string out = "ebpf";
  for (std::size_t i = 0; i < impl_->attachments.size(); ++i) {
    out += (i == 0 ? " on " : ", ");
    out += impl_->attachments[i].name;
  }
  return out;
}

std::vector<std::uint32_t> EbpfSource::program_ids() const {
  return {impl_->ingress_id, impl_->egress_id};
}

int EbpfSource::on_record(void* ctx, void* data, std::size_t size) {
  auto* self = static_cast<EbpfSource*>(ctx);
  Impl& im = *self->impl_;
  offpath_record rec;
  if (size < sizeof rec) {
    self->bad_records_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  std::memcpy(&rec, data, sizeof rec);
  if (rec.version != OFFPATH_ABI_VERSION || rec.cap_len > size - sizeof rec) {
    self->bad_records_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  Frame frame;
  frame.ts = monotonic_to_timestamp(rec.ts_mono_ns, im.clock_offset_ns);
  frame.wire_len = rec.wire_len;
  frame.link = LinkType::Ethernet;
  for (const auto& a : im.attachments) {
    if (a.ifindex == static_cast<int>(rec.ifindex)) {
      frame.link = a.link;
      break;
    }
  }
  frame.bytes = ByteView(static_cast<const std::uint8_t*>(data) + sizeof rec, rec.cap_len);
  self->frames_.fetch_add(1, std::memory_order_relaxed);
  self->bytes_.fetch_add(rec.cap_len, std::memory_order_relaxed);
  ++im.delivered_in_poll;
  if (im.writer) im.writer->write(frame);
  if (im.handler != nullptr) im.handler->on_frame(frame);
  return 0;
}

Result<void> EbpfSource::run(FrameHandler& handler, const std::atomic<bool>& stop) {
  Impl& im = *impl_;
  using Clock = std::chrono::steady_clock;
  im.handler = &handler;
  im.clock_offset_ns = monotonic_to_realtime_offset_ns();
  auto last_clock = Clock::now();
  auto last_activity = last_clock;
  auto last_idle = last_clock;
  Result<void> result;
  while (!stop.load(std::memory_order_relaxed)) {
    im.delivered_in_poll = 0;
    int rc = ring_buffer__poll(im.ring.get(), kPollTimeoutMs);
    // Records submitted without a wake-up raise no epoll event: take them now.
    if (rc >= 0 || rc == -EINTR) rc = ring_buffer__consume(im.ring.get());
    if (rc < 0 && rc != -EINTR) {
      result = make_error("reading the eBPF ring buffer failed: " + errno_text(rc));
      break;
    }
    auto now = Clock::now();
    if (now - last_clock >= kClockRefresh) {
      // Follows wall-clock steps and NTP slewing.
      last_clock = now;
      im.clock_offset_ns = monotonic_to_realtime_offset_ns();
      if (im.writer) {
        if (auto flushed = im.writer->flush(); !flushed) {
          result = flushed;
          break;
        }
      }
    }
    if (im.delivered_in_poll > 0) {
      last_activity = now;
    } else if (now - last_activity >= kIdleInterval && now - last_idle >= kIdleInterval) {
      last_idle = now;
      handler.on_idle(wall_now());
    }
  }
  // What is already in the ring still belongs to this run.
  if (result.ok()) {
    int rc = ring_buffer__consume(im.ring.get());
    if (rc < 0) result = make_error("draining the eBPF ring buffer: " + errno_text(rc));
  }
  if (im.writer) {
    if (auto flushed = im.writer->flush(); !flushed && result.ok()) result = flushed;
  }
  im.handler = nullptr;
  return result;
}

Result<KernelCounters> EbpfSource::kernel_counters() const {
  KernelCounters totals{};
  std::vector<__u64> per_cpu(static_cast<std::size_t>(impl_->ncpus));
  for (__u32 i = 0; i < OFFPATH_CNT_MAX; ++i) {
    int rc = bpf_map__lookup_elem(impl_->skel->maps.counters, &i, sizeof i, per_cpu.data(),
                                  per_cpu.size() * sizeof(__u64), 0);
    if (rc != 0) return make_error("reading the eBPF counters: " + errno_text(rc));
    for (auto v : per_cpu) totals[i] += v;
  }
  return totals;
}

std::vector<std::pair<std::string, std::uint64_t>> EbpfSource::backend_counters() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto counters = kernel_counters();
  if (!counters) return out;
  for (__u32 i = 0; i < OFFPATH_CNT_MAX; ++i) {
    out.emplace_back(to_string(static_cast<enum offpath_counter>(i)), counters.value()[i]);
  }
  return out;
}

SourceStats EbpfSource::stats() const {
  SourceStats s;
  s.frames = frames_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  if (auto counters = kernel_counters(); counters) {
    const auto& c = counters.value();
    s.kernel_drops = c[OFFPATH_CNT_LOST_RINGBUF_FULL] + c[OFFPATH_CNT_LOST_COPY_FAILED];
    s.truncated = c[OFFPATH_CNT_TRUNCATED];
  }
  return s;
}

}  // namespace offpath
