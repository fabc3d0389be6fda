// eBPF TC capture on a veth in private network namespaces (needs root with BPF allowed):
// kernel-side filtering proven by the counters, large transfers whole, tunnelled
// traffic handed over whole, attach and detach that leave foreign TC state alone,
// restart after a killed run.
#include "capture/ebpf_source.hpp"
#include "capture/pcap_file_source.hpp"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <signal.h>

#include <numeric>

#include "decode/decoder.hpp"
#include "lab.hpp"

namespace offpath {
namespace {

using namespace testlab;

class EbpfSourceTest : public LabTest {
 protected:
  LiveCaptureOptions options() const {
    LiveCaptureOptions o;
    o.interfaces = {lab_->near_if()};
    o.backend = CaptureBackend::Ebpf;
    o.buffer_mb = 8;
    o.ports = {kPort};
    return o;
  }
  std::string tc_filters(const char* hook) const {
    return shell("tc filter show dev " + lab_->near_if() + " " + hook);
  }
  std::string tc_qdiscs() const { return shell("tc qdisc show dev " + lab_->near_if()); }

};

// The TCP segments of the frames as offpath's decoder sees them (the innermost TCP of a
// tunnel), in the lab's form.
std::vector<testlab::Segment> decoded_segments(const std::vector<Captured>& frames) {
  Decoder decoder;
  std::vector<testlab::Segment> out;
  for (const auto& c : frames) {
    Frame f;
    f.link = c.link;
    f.bytes = ByteView(c.bytes);
    offpath::Segment seg;
    if (decoder.decode(f, seg) != DecodeOutcome::Tcp) continue;
    out.push_back({seg.src.to_string(), seg.dst.to_string(), seg.src_port, seg.dst_port, seg.seq,
                   seg.flags, std::string(as_chars(seg.payload))});
  }
  return out;
}

std::uint64_t sum_of_outcomes(const KernelCounters& c) {
  return c[OFFPATH_CNT_SKIP_NOT_TCP] + c[OFFPATH_CNT_SKIP_MALFORMED] +
         c[OFFPATH_CNT_SKIP_FRAGMENT] + c[OFFPATH_CNT_SKIP_PORT] +
         c[OFFPATH_CNT_SKIP_ADDRESS] + c[OFFPATH_CNT_SKIP_EMPTY_ACK] +
         c[OFFPATH_CNT_SUBMITTED] + c[OFFPATH_CNT_LOST_RINGBUF_FULL] +
         c[OFFPATH_CNT_LOST_COPY_FAILED];
}

TEST(EbpfClock, MonotonicToWallTime) {
  EXPECT_EQ(monotonic_to_timestamp(5'000'000'000, 1'700'000'000'000'000'000).micros,
            1'700'000'005'000'000);
  EXPECT_EQ(monotonic_to_timestamp(1'999, 0).micros, 1);
  timespec mono{}, real{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  ::clock_gettime(CLOCK_REALTIME, &real);
  auto mono_ns = static_cast<std::uint64_t>(mono.tv_sec) * 1'000'000'000u +
                 static_cast<std::uint64_t>(mono.tv_nsec);
  auto ts = monotonic_to_timestamp(mono_ns, monotonic_to_realtime_offset_ns());
  std::int64_t real_us = real.tv_sec * 1'000'000 + real.tv_nsec / 1000;
  EXPECT_LT(std::llabs(ts.micros - real_us), 1000) << "within a millisecond";
}

TEST(EbpfCounters, EveryCounterHasALabel) {
  for (int i = 0; i < OFFPATH_CNT_MAX; ++i) {
    EXPECT_STRNE(to_string(static_cast<offpath_counter>(i)), "unknown") << i;
  }
}

TEST_F(EbpfSourceTest, FiltersPortsInTheKernelAndDeliversTheExchange) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  Server other(*lab_, "192.0.2.2", kOtherPort, kResponse);
  ASSERT_TRUE(server.ok() && other.ok());
  auto source = EbpfSource::open(options());
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);

  ASSERT_EQ(exchange("192.0.2.2", kOtherPort, kRequest), kResponse);
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");

  auto frames = collector.frames();
  auto segs = segments(frames);
  ASSERT_EQ(segs.size(), frames.size());
  for (const auto& s : segs) {
    EXPECT_TRUE(s.sport == kPort || s.dport == kPort) << s.sport << " -> " << s.dport;
    // Payload-less ACKs never leave the kernel.
    EXPECT_TRUE(!s.payload.empty() || (s.flags & (kSyn | kFin | kRst)))
        << "empty ACK delivered, flags " << int{s.flags};
  }
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);

  auto counters = (*source)->kernel_counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  const auto& c = counters.value();
  // The kPort connection: SYN, SYN-ACK, request, response, two FINs at least.
  EXPECT_EQ(c[OFFPATH_CNT_SUBMITTED], frames.size());
  EXPECT_GE(c[OFFPATH_CNT_SUBMITTED], 6u);
  // The kOtherPort connection went the same way, all of it dropped in the kernel.
  EXPECT_GE(c[OFFPATH_CNT_SKIP_PORT], 6u);
  // The handshake's last ACK at least.
  EXPECT_GE(c[OFFPATH_CNT_SKIP_EMPTY_ACK], 1u);
  EXPECT_EQ(c[OFFPATH_CNT_SKIP_ADDRESS], 0u);
  EXPECT_EQ(c[OFFPATH_CNT_LOST_RINGBUF_FULL], 0u);
  EXPECT_EQ(c[OFFPATH_CNT_LOST_COPY_FAILED], 0u);
  EXPECT_EQ(c[OFFPATH_CNT_TRUNCATED], 0u);
  // Every packet the program saw is accounted for exactly once.
  EXPECT_EQ(c[OFFPATH_CNT_SEEN], sum_of_outcomes(c));
  std::uint64_t bytes = 0;
  for (const auto& f : frames) bytes += f.bytes.size();
  EXPECT_EQ(c[OFFPATH_CNT_SUBMITTED_BYTES], bytes);

  auto stats = (*source)->stats();
  EXPECT_EQ(stats.frames, frames.size());
  EXPECT_EQ(stats.bytes, bytes);
  EXPECT_EQ(stats.kernel_drops, 0u);
  EXPECT_EQ((*source)->bad_records(), 0u);

  // Timestamps: wall time, in capture order within a second of each other.
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  for (const auto& f : frames) {
    EXPECT_LT(std::llabs(now_us - f.ts.micros), 30'000'000) << "wall clock, not monotonic";
    EXPECT_EQ(f.link, LinkType::Ethernet);
  }
}

TEST_F(EbpfSourceTest, SeveralInterfacesShareOneRing) {
  Server far(*lab_, "192.0.2.2", kPort, kResponse);
  Server local(*lab_, "127.0.0.1", kPort, kResponse + "!", /*far=*/false);
  ASSERT_TRUE(far.ok() && local.ok());
  auto o = options();
  o.interfaces = {lab_->near_if(), "lo"};
  auto source = EbpfSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->describe(), "ebpf on " + lab_->near_if() + ", lo");
  Collector collector;
  Running running(**source, collector);
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
  ASSERT_EQ(exchange("127.0.0.1", kPort, kRequest), kResponse + "!");
  auto fins = [&](const std::string& server) {
    int n = 0;
    for (const auto& s : segments(collector.frames())) {
      if ((s.flags & kFin) && (s.src == server || s.dst == server)) ++n;
    }
    return n;
  };
  // lo runs both hooks on every packet: each FIN twice.
  ASSERT_TRUE(wait_for([&] { return fins("192.0.2.2") >= 2 && fins("127.0.0.1") >= 4; }));
  EXPECT_EQ(running.stop(), "");
  std::vector<testlab::Segment> veth, loopback;
  for (const auto& s : segments(collector.frames())) {
    (s.dst == "127.0.0.1" || s.src == "127.0.0.1" ? loopback : veth).push_back(s);
  }
  EXPECT_EQ(stream_bytes(veth, kPort, client_ports(veth, kPort).at(0)), kResponse);
  EXPECT_EQ(stream_bytes(loopback, kPort, client_ports(loopback, kPort).at(0)),
            kResponse + "!");
}

TEST_F(EbpfSourceTest, OneMegabyteResponseArrivesWholeThroughGso) {
  std::string body(1 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  }
  std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Server server(*lab_, "192.0.2.2", kPort, response);
  ASSERT_TRUE(server.ok());
  auto source = EbpfSource::open(options());
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), response);
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");

  auto frames = collector.frames();
  auto segs = segments(frames);
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  std::string got = stream_bytes(segs, kPort, clients[0]);
  EXPECT_EQ(got.size(), response.size());
  EXPECT_TRUE(got == response) << "response bytes differ";

  std::uint32_t largest = 0;
  for (const auto& f : frames) {
    EXPECT_EQ(f.bytes.size(), f.wire_len) << "copied whole";
    largest = std::max(largest, f.wire_len);
  }
  EXPECT_GT(largest, 1514u) << "GSO super-packets arrive as one frame";
  EXPECT_LE(largest, static_cast<std::uint32_t>(OFFPATH_MAX_FRAME));
  auto stats = (*source)->stats();
  EXPECT_EQ(stats.truncated, 0u);
  EXPECT_EQ(stats.kernel_drops, 0u);
}

TEST_F(EbpfSourceTest, RingBufferLossesAreCountedAsKernelDrops) {
  // 4 MB through a 1 MiB ring nobody reads: most records cannot be reserved.
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" +
                         std::string(4 << 20, 'z');
  Server server(*lab_, "192.0.2.2", kPort, response);
  ASSERT_TRUE(server.ok());
  auto o = options();
  o.buffer_mb = 1;
  auto source = EbpfSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), response);
  auto counters = (*source)->kernel_counters();
  ASSERT_TRUE(counters.ok()) << counters.error().message;
  const auto& c = counters.value();
  EXPECT_GT(c[OFFPATH_CNT_LOST_RINGBUF_FULL], 0u);
  EXPECT_GT(c[OFFPATH_CNT_SUBMITTED], 0u);
  EXPECT_EQ(c[OFFPATH_CNT_SEEN], sum_of_outcomes(c));
  EXPECT_EQ((*source)->stats().kernel_drops, c[OFFPATH_CNT_LOST_RINGBUF_FULL]);
  // What did fit is still delivered, whole.
  Collector collector;
  Running running(**source, collector);
  EXPECT_TRUE(wait_for([&] {
    return collector.frames().size() >= c[OFFPATH_CNT_SUBMITTED];
  }));
  EXPECT_EQ(running.stop(), "");
  EXPECT_EQ(collector.frames().size(), (*source)->kernel_counters().value()[OFFPATH_CNT_SUBMITTED]);
  for (const auto& f : collector.frames()) EXPECT_EQ(f.bytes.size(), f.wire_len);
}

TEST_F(EbpfSourceTest, WritesWhatItDeliversToAPcapFile) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  std::string path = ::testing::TempDir() + "oplive-ebpf-" + std::to_string(::getpid()) + ".pcap";
  auto o = options();
  o.write_file = path;
  std::vector<Captured> delivered;
  {
    auto source = EbpfSource::open(o);
    ASSERT_TRUE(source.ok()) << source.error().message;
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
    EXPECT_EQ(running.stop(), "");
    delivered = collector.frames();
  }
  auto replay = PcapFileSource::open(path);
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_EQ((*replay)->link_type(), LinkType::Ethernet);
  Collector replayed;
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*replay)->run(replayed, stop).ok());
  auto frames = replayed.frames();
  ASSERT_EQ(frames.size(), delivered.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].bytes, delivered[i].bytes) << i;
    EXPECT_EQ(frames[i].wire_len, delivered[i].wire_len) << i;
    EXPECT_EQ(frames[i].ts, delivered[i].ts) << i;
  }
  ::unlink(path.c_str());
}

TEST_F(EbpfSourceTest, SnaplenTruncationIsFlaggedAndCounted) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse + std::string(20000, 'x'));
  ASSERT_TRUE(server.ok());
  auto o = options();
  o.snaplen = 200;
  auto source = EbpfSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  ASSERT_TRUE(exchange("192.0.2.2", kPort, kRequest).has_value());
  // FIN flags stay readable: the headers are within the first 200 bytes.
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");
  std::uint64_t cut = 0;
  for (const auto& f : collector.frames()) {
    EXPECT_LE(f.bytes.size(), 200u);
    if (f.bytes.size() < f.wire_len) ++cut;
  }
  EXPECT_GT(cut, 0u);
  EXPECT_EQ((*source)->stats().truncated, cut);
}

TEST_F(EbpfSourceTest, Ipv6ExchangeIsCaptured) {
  Server server(*lab_, "2001:db8::2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  auto source = EbpfSource::open(options());
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  ASSERT_EQ(exchange("2001:db8::2", kPort, kRequest), kResponse);
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");
  auto segs = segments(collector.frames());
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(segs.front().src.find(':') != std::string::npos, true);
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);
}

// A connection inside a VXLAN tunnel across the veth: the program cannot see the inner
// ports, so it hands the encapsulated frames over whole (counted submitted_unfiltered),
// and the decoder finds the inner exchange in them.
TEST_F(EbpfSourceTest, VxlanFramesArePassedWholeAndDecodeToTheInnerExchange) {
  const std::string pid = std::to_string(::getpid());
  const std::string near_vx = "opvx" + pid + "n";
  const std::string far_vx = "opvx" + pid + "f";
  const std::string vxlan = " type vxlan id 42 dstport 4789 dev ";
  const std::string cmds[] = {
      "ip link add " + near_vx + vxlan + lab_->near_if() + " local 192.0.2.1 remote 192.0.2.2",
      "ip addr add 10.99.0.1/24 dev " + near_vx,
      "ip link set " + near_vx + " up",
      lab_->far_exec() + "ip link add " + far_vx + vxlan + lab_->far_if() +
          " local 192.0.2.2 remote 192.0.2.1",
      lab_->far_exec() + "ip addr add 10.99.0.2/24 dev " + far_vx,
      lab_->far_exec() + "ip link set " + far_vx + " up",
  };
  for (const auto& cmd : cmds) ASSERT_EQ(shell_rc(cmd), 0) << cmd << ": " << shell(cmd);
  Server server(*lab_, "10.99.0.2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  auto source = EbpfSource::open(options());  // --port kPort on the veth
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  ASSERT_EQ(exchange("10.99.0.2", kPort, kRequest), kResponse);
  ASSERT_TRUE(wait_for([&] {
    int fins = 0;
    for (const auto& s : decoded_segments(collector.frames())) {
      if ((s.flags & kFin) && (s.sport == kPort || s.dport == kPort)) ++fins;
    }
    return fins >= 2;
  }));
  EXPECT_EQ(running.stop(), "");
  auto segs = decoded_segments(collector.frames());
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(segs.front().src, "10.99.0.1");
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);
  auto c = (*source)->kernel_counters();
  ASSERT_TRUE(c.ok());
  EXPECT_GE(c.value()[OFFPATH_CNT_SUBMITTED_UNFILTERED], 6u);
  EXPECT_EQ(c.value()[OFFPATH_CNT_SKIP_PORT], 0u);
  EXPECT_EQ(c.value()[OFFPATH_CNT_SEEN], sum_of_outcomes(c.value()));
}

TEST_F(EbpfSourceTest, ClientAndServerNetworksFilterInTheKernel) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  {
    auto o = options();
    o.client_cidrs = {"192.0.2.1/32"};
    o.server_cidrs = {"198.51.100.0/24"};  // not where the server is
    auto source = EbpfSource::open(o);
    ASSERT_TRUE(source.ok()) << source.error().message;
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    ASSERT_TRUE(wait_for([&] {
      auto c = (*source)->kernel_counters();
      return c.ok() && c.value()[OFFPATH_CNT_SKIP_ADDRESS] >= 6;
    }));
    EXPECT_EQ(running.stop(), "");
    EXPECT_EQ(collector.frames().size(), 0u);
    auto c = (*source)->kernel_counters();
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.value()[OFFPATH_CNT_SUBMITTED], 0u);
  }
  {
    auto o = options();
    o.client_cidrs = {"192.0.2.0/30"};
    o.server_cidrs = {"192.0.2.2"};
    auto source = EbpfSource::open(o);
    ASSERT_TRUE(source.ok()) << source.error().message;
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
    EXPECT_EQ(running.stop(), "");
    auto segs = segments(collector.frames());
    auto clients = client_ports(segs, kPort);
    ASSERT_EQ(clients.size(), 1u);
    EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);
    auto c = (*source)->kernel_counters();
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.value()[OFFPATH_CNT_SKIP_ADDRESS], 0u);
  }
}

TEST_F(EbpfSourceTest, DetachesEverythingItAttached) {
  ASSERT_EQ(tc_qdiscs().find("clsact"), std::string::npos) << tc_qdiscs();
  std::vector<std::uint32_t> ids;
  {
    auto source = EbpfSource::open(options());
    ASSERT_TRUE(source.ok()) << source.error().message;
    ids = (*source)->program_ids();
    EXPECT_NE(tc_qdiscs().find("clsact"), std::string::npos);
    EXPECT_NE(tc_filters("ingress").find("offpath_ingress"), std::string::npos)
        << tc_filters("ingress");
    EXPECT_NE(tc_filters("egress").find("offpath_egress"), std::string::npos)
        << tc_filters("egress");
    EXPECT_NE(tc_filters("ingress").find("handle 0x4f50"), std::string::npos);
  }
  EXPECT_EQ(tc_filters("ingress"), "");
  EXPECT_EQ(tc_filters("egress"), "");
  EXPECT_EQ(tc_qdiscs().find("clsact"), std::string::npos) << "the qdisc it created is gone";
  ASSERT_EQ(ids.size(), 2u);
  // The tc filter drops its reference to the program after an RCU grace period, so the
  // kernel frees a detached program some milliseconds later (10-20 ms on 6.18), not at
  // once: wait for that, bounded. (The probe's own reference is dropped at each close.)
  for (auto id : ids) {
    ASSERT_NE(id, 0u);
    EXPECT_TRUE(wait_for([id] {
      const int fd = bpf_prog_get_fd_by_id(id);
      if (fd < 0) return true;
      ::close(fd);
      return false;
    })) << "program " << id << " still loaded after 5 s";
  }
}

TEST_F(EbpfSourceTest, ForeignQdiscAndFiltersSurvive) {
  const std::string dev = lab_->near_if();
  ASSERT_EQ(shell_rc("tc qdisc add dev " + dev + " clsact"), 0);
  // A classic-BPF classifier that never matches: present, and harmless.
  const std::string foreign = " prio 7 bpf bytecode '1,6 0 0 0,'";
  ASSERT_EQ(shell_rc("tc filter add dev " + dev + " ingress" + foreign), 0);
  ASSERT_EQ(shell_rc("tc filter add dev " + dev + " egress" + foreign), 0);
  std::string before_in = tc_filters("ingress"), before_out = tc_filters("egress");
  ASSERT_NE(before_in.find("bytecode"), std::string::npos) << before_in;
  {
    Server server(*lab_, "192.0.2.2", kPort, kResponse);
    ASSERT_TRUE(server.ok());
    auto source = EbpfSource::open(options());
    ASSERT_TRUE(source.ok()) << source.error().message;
    EXPECT_NE(tc_filters("ingress").find("bytecode"), std::string::npos);
    EXPECT_NE(tc_filters("ingress").find("offpath_ingress"), std::string::npos);
    // Capture works alongside the foreign filter.
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    EXPECT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
    EXPECT_EQ(running.stop(), "");
  }
  EXPECT_EQ(tc_filters("ingress"), before_in);
  EXPECT_EQ(tc_filters("egress"), before_out);
  EXPECT_NE(tc_qdiscs().find("clsact"), std::string::npos);
}

TEST_F(EbpfSourceTest, SecondInstanceOnTheSameInterfaceIsRefused) {
  auto first = EbpfSource::open(options());
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = EbpfSource::open(options());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("another offpath is already capturing on '" +
                                        lab_->near_if() + "'"),
            std::string::npos)
      << second.error().message;
  // The refusal left the first one's filters alone.
  EXPECT_NE(tc_filters("ingress").find("offpath_ingress"), std::string::npos);
}

TEST_F(EbpfSourceTest, RestartCleansUpWhatAKilledRunLeft) {
  auto o = options();
  // A run that is killed without a chance to detach.
  std::string child = in_child([&] {
    auto source = EbpfSource::open(o);
    if (!source.ok()) return source.error().message;
    ::kill(::getpid(), SIGKILL);
    return std::string("not killed");
  });
  EXPECT_EQ(child, "");
  std::string left = tc_filters("ingress");
  ASSERT_NE(left.find("offpath_ingress"), std::string::npos) << "the killed run's filter stays";
  {
    Server server(*lab_, "192.0.2.2", kPort, kResponse);
    ASSERT_TRUE(server.ok());
    auto source = EbpfSource::open(o);
    ASSERT_TRUE(source.ok()) << source.error().message;
    // Replaced, not added: one filter per hook, now the new program.
    std::string now = tc_filters("ingress");
    EXPECT_EQ(now.find("handle 0x4f50"), now.rfind("handle 0x4f50")) << now;
    EXPECT_NE(now.find("id " + std::to_string((*source)->program_ids()[0]) + " "),
              std::string::npos) << now;
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    EXPECT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
    EXPECT_EQ(running.stop(), "");
  }
  EXPECT_EQ(tc_filters("ingress"), "");
  EXPECT_EQ(tc_filters("egress"), "");
}

TEST_F(EbpfSourceTest, MissingCapabilitiesAreNamed) {
  auto o = options();
  std::string msg = in_child([&] {
    if (!drop_capabilities({CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_NET_ADMIN})) {
      return std::string("capset failed");
    }
    auto source = EbpfSource::open(o);
    return source.ok() ? std::string("opened") : source.error().message;
  });
  EXPECT_NE(msg.find("needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON"), std::string::npos) << msg;
  EXPECT_EQ(tc_filters("ingress"), "");
}

TEST_F(EbpfSourceTest, ClearErrorsForBadArguments) {
  struct Case {
    const char* description;
    std::function<void(LiveCaptureOptions&)> change;
    std::string expected_start;
  };
  const Case cases[] = {
      {"unknown interface", [](auto& o) { o.interfaces = {"oplive-nope0"}; },
       "no such interface 'oplive-nope0'"},
      {"any", [](auto& o) { o.interfaces = {"any"}; }, "--capture ebpf attaches to named"},
      {"pcap filter", [](auto& o) { o.filter = "tcp"; }, "-f filters apply to --capture pcap"},
      {"bad network", [](auto& o) { o.client_cidrs = {"10.0.0.0/40"}; },
       "--client: bad network '10.0.0.0/40'"},
  };
  for (const auto& c : cases) {
    auto o = options();
    c.change(o);
    auto source = EbpfSource::open(o);
    ASSERT_FALSE(source.ok()) << c.description;
    EXPECT_EQ(source.error().message.rfind(c.expected_start, 0), 0u)
        << c.description << ": " << source.error().message;
  }
  EXPECT_EQ(tc_filters("ingress"), "");
}

}  // namespace
}  // namespace offpath
