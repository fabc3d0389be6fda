// libpcap live capture on a veth in private network namespaces (needs root).
#include "capture/pcap_live_source.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <pcap/pcap.h>

#include "lab.hpp"

namespace offpath {
namespace {

using namespace testlab;

class PcapLiveTest : public LabTest {
 protected:
  LiveCaptureOptions options() const {
    LiveCaptureOptions o;
    o.interfaces = {lab_->near_if()};
    o.buffer_mb = 4;
    return o;
  }
};

TEST_F(PcapLiveTest, CapturesTheFilteredExchangeWholeAndNothingElse) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  Server other(*lab_, "192.0.2.2", kOtherPort, kResponse);
  ASSERT_TRUE(server.ok() && other.ok());
  auto o = options();
  o.ports = {kPort};
  auto source = PcapLiveSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->link_type(0), LinkType::Ethernet);
  Collector collector;
  Running running(**source, collector);

  // The unfiltered exchange first: once the filtered one is fully seen, the other
  // would have been too.
  ASSERT_EQ(exchange("192.0.2.2", kOtherPort, kRequest), kResponse);
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");

  auto segs = segments(collector.frames());
  ASSERT_EQ(segs.size(), collector.frames().size()) << "every frame is TCP on the veth";
  for (const auto& s : segs) {
    EXPECT_TRUE(s.sport == kPort || s.dport == kPort) << s.sport << " -> " << s.dport;
  }
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);
  int syns = 0;
  for (const auto& s : segs) syns += (s.flags & kSyn) ? 1 : 0;
  EXPECT_EQ(syns, 2);  // SYN and SYN-ACK

  auto stats = (*source)->stats();
  EXPECT_EQ(stats.frames, collector.frames().size());
  EXPECT_EQ(stats.kernel_drops, 0u);
  EXPECT_EQ(stats.truncated, 0u);
}

TEST_F(PcapLiveTest, SeveralInterfacesArePolledTogether) {
  Server far(*lab_, "192.0.2.2", kPort, kResponse);
  Server local(*lab_, "127.0.0.1", kPort, kResponse + "!", /*far=*/false);
  ASSERT_TRUE(far.ok() && local.ok());
  auto o = options();
  o.interfaces = {lab_->near_if(), "lo"};
  o.ports = {kPort};
  auto source = PcapLiveSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->describe(), "pcap on " + lab_->near_if() + ", lo filter '" +
                                       (*source)->filter_expression() + "'");
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
  // On lo every packet is seen once: both FINs.
  ASSERT_TRUE(wait_for([&] { return fins("192.0.2.2") >= 2 && fins("127.0.0.1") >= 2; }));
  EXPECT_EQ(running.stop(), "");
  std::vector<Segment> veth, loopback;
  for (const auto& s : segments(collector.frames())) {
    (s.dst == "127.0.0.1" || s.src == "127.0.0.1" ? loopback : veth).push_back(s);
  }
  for (const auto* segs : {&veth, &loopback}) {
    auto clients = client_ports(*segs, kPort);
    ASSERT_EQ(clients.size(), 1u);
    EXPECT_EQ(stream_bytes(*segs, clients[0], kPort), kRequest);
  }
  EXPECT_EQ(stream_bytes(loopback, kPort, client_ports(loopback, kPort)[0]), kResponse + "!");
  EXPECT_EQ(stream_bytes(veth, kPort, client_ports(veth, kPort)[0]), kResponse);
}

TEST_F(PcapLiveTest, SnaplenTruncatesAndCounts) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse + std::string(3000, 'x'));
  ASSERT_TRUE(server.ok());
  auto o = options();
  o.ports = {kPort};
  o.snaplen = 96;
  auto source = PcapLiveSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  ASSERT_TRUE(exchange("192.0.2.2", kPort, kRequest).has_value());
  ASSERT_TRUE(wait_for([&] {
    return (*source)->stats().frames > 0 && collector.frames().size() >= 8;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(running.stop(), "");
  std::uint64_t cut = 0;
  for (const auto& f : collector.frames()) {
    EXPECT_LE(f.bytes.size(), 96u);
    if (f.bytes.size() < f.wire_len) ++cut;
  }
  EXPECT_GT(cut, 0u);
  EXPECT_EQ((*source)->stats().truncated, cut);
}

TEST_F(PcapLiveTest, AnyInterfaceDeliversLinuxCookedV2) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  auto o = options();
  o.interfaces = {"any"};
  o.filter = "tcp port " + std::to_string(kPort);
  auto source = PcapLiveSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->link_type(0), LinkType::LinuxSll2);
  Collector collector;
  Running running(**source, collector);
  ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
  ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
  EXPECT_EQ(running.stop(), "");
  auto frames = collector.frames();
  for (const auto& f : frames) EXPECT_EQ(f.link, LinkType::LinuxSll2);
  auto segs = segments(frames);
  auto clients = client_ports(segs, kPort);
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(stream_bytes(segs, clients[0], kPort), kRequest);
  EXPECT_EQ(stream_bytes(segs, kPort, clients[0]), kResponse);
}

TEST_F(PcapLiveTest, WritesWhatItDeliversToAPcapFile) {
  Server server(*lab_, "192.0.2.2", kPort, kResponse);
  ASSERT_TRUE(server.ok());
  std::string path = ::testing::TempDir() + "oplive-" + std::to_string(::getpid()) + ".pcap";
  auto o = options();
  o.ports = {kPort};
  o.write_file = path;
  std::vector<Captured> delivered;
  {
    auto source = PcapLiveSource::open(o);
    ASSERT_TRUE(source.ok()) << source.error().message;
    Collector collector;
    Running running(**source, collector);
    ASSERT_EQ(exchange("192.0.2.2", kPort, kRequest), kResponse);
    ASSERT_TRUE(wait_for([&] { return closed_both_ways(collector, kPort); }));
    EXPECT_EQ(running.stop(), "");
    delivered = collector.frames();
  }
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  ASSERT_NE(p, nullptr) << errbuf;
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  std::size_t i = 0;
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(p, &hdr, &data) == 1) {
    ASSERT_LT(i, delivered.size());
    EXPECT_EQ(hdr->caplen, delivered[i].bytes.size());
    EXPECT_EQ(hdr->len, delivered[i].wire_len);
    EXPECT_EQ(0, std::memcmp(data, delivered[i].bytes.data(), hdr->caplen));
    EXPECT_EQ(hdr->ts.tv_sec * 1'000'000 + hdr->ts.tv_usec, delivered[i].ts.micros);
    ++i;
  }
  pcap_close(p);
  EXPECT_EQ(i, delivered.size());
  EXPECT_GT(i, 0u);
  ::unlink(path.c_str());
}

TEST_F(PcapLiveTest, IdleLinkStillTicks) {
  // Quiet by filter: a fresh link carries IPv6 neighbour discovery for a while.
  auto o = options();
  o.ports = {kPort};
  auto source = PcapLiveSource::open(o);
  ASSERT_TRUE(source.ok()) << source.error().message;
  Collector collector;
  Running running(**source, collector);
  EXPECT_TRUE(wait_for([&] { return collector.idles() > 0; }, std::chrono::seconds(4)))
      << collector.frames().size() << " frames";
  EXPECT_EQ(running.stop(), "");
}

TEST_F(PcapLiveTest, MissingInterfaceIsNamed) {
  auto o = options();
  o.interfaces = {"oplive-nope0"};
  auto source = PcapLiveSource::open(o);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().message.rfind("no such interface 'oplive-nope0'", 0), 0u)
      << source.error().message;
}

TEST_F(PcapLiveTest, BadFilterGivesLibpcapsReason) {
  auto o = options();
  o.filter = "tcp port eighty";
  auto source = PcapLiveSource::open(o);
  ASSERT_FALSE(source.ok());
  const auto& msg = source.error().message;
  EXPECT_EQ(msg.rfind("bad capture filter 'tcp port eighty': ", 0), 0u) << msg;
  EXPECT_NE(msg.find("eighty"), msg.rfind("eighty")) << "libpcap's text follows: " << msg;
}

TEST_F(PcapLiveTest, MissingCapabilityIsNamed) {
  auto o = options();
  std::string msg = in_child([&] {
    if (!drop_capabilities({CAP_NET_RAW})) return std::string("capset failed");
    auto source = PcapLiveSource::open(o);
    return source.ok() ? std::string("opened") : source.error().message;
  });
  EXPECT_NE(msg.find("needs CAP_NET_RAW"), std::string::npos) << msg;
  EXPECT_NE(msg.find(lab_->near_if()), std::string::npos) << msg;
}

}  // namespace
}  // namespace offpath
