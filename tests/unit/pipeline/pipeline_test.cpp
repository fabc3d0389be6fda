// Pipeline end to end in process: frames built with PacketBuilder go through decode,
// flow table, reassembly, parsing, pairing, classification and encoding into a
// capturing sink; every record must be valid JSON with the expected fields.
#include "pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/h2_builder.hpp"
#include "support/json.hpp"
#include "support/packet_builder.hpp"
#include "support/sinks.hpp"

namespace offpath {
namespace {

using testing::CapturingSink;
using testing::JsonValue;
using testing::count;
using testing::flag;
using testing::is_null;
using testing::Packet;
using testing::PacketBuilder;
namespace f = tcp_flags;
using namespace std::string_view_literals;

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // packet time of the first frame

class Replay {
 public:
  explicit Replay(const std::function<void(Config&)>& tune = {}, bool sink_reads_keys = true)
      : config_(make(tune)), sink_(sink_reads_keys),
        pipeline_(config_, ClassifyOptions{}, sink_, /*live=*/false) {}

  void send(const Packet& p) { pipeline_.on_frame(p.frame()); }
  void finish() { pipeline_.finish(Outcome::CaptureEnded); }

  // Every record, parsed; a record that is not valid JSON fails the test.
  std::vector<JsonValue> records() {
    std::vector<JsonValue> out;
    for (const auto& r : sink_.records) {
      std::string err;
      auto v = testing::parse_json(r.payload, &err);
      EXPECT_TRUE(v) << err << "\n" << r.payload;
      if (v) out.push_back(*v);
    }
    return out;
  }
  PipelineCounters counters() const { return pipeline_.counters(); }
  const std::vector<CapturingSink::Record>& raw() const { return sink_.records; }

 private:
  static Config make(const std::function<void(Config&)>& tune) {
    Config c;
    c.publish = PublishMode::All;
    if (tune) tune(c);
    return c;
  }
  Config config_;
  CapturingSink sink_;
  Pipeline pipeline_;
};

// Both directions of one TCP connection; sequence numbers advance with what is sent.
struct Tcp {
  std::string client_ip = "10.0.0.1";
  std::string server_ip = "10.0.0.2";
  std::uint16_t client_port = 40000;
  std::uint16_t server_port = 80;
  std::uint32_t cseq = 1000;   // client's next sequence number
  std::uint32_t sseq = 90000;  // server's next sequence number
  std::int64_t t = kT0;        // packet time, advanced 1 ms per packet

  Packet client(std::uint8_t flags, std::string_view data = {}) {
    Packet p = PacketBuilder().eth().ipv4(client_ip, server_ip)
                   .tcp(client_port, server_port, cseq, sseq, flags).payload(data).at_micros(t).build();
    cseq += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
    return p;
  }
  Packet server(std::uint8_t flags, std::string_view data = {}) {
    Packet p = PacketBuilder().eth().ipv4(server_ip, client_ip)
                   .tcp(server_port, client_port, sseq, cseq, flags).payload(data).at_micros(t).build();
    sseq += static_cast<std::uint32_t>(data.size()) + ((flags & (f::kSyn | f::kFin)) ? 1u : 0u);
    t += 1000;
    return p;
  }
  void handshake(Replay& run) {
    run.send(client(f::kSyn));
    run.send(server(f::kSyn | f::kAck));
    run.send(client(f::kAck));
  }
  void close(Replay& run) {
    run.send(client(f::kFin | f::kAck));
    run.send(server(f::kFin | f::kAck));
    run.send(client(f::kAck));
  }
};

constexpr std::uint8_t kPA = f::kPsh | f::kAck;
constexpr std::string_view kGet = "GET /items?id=7 HTTP/1.1\r\nHost: shop\r\nUser-Agent: t\r\n\r\n";
constexpr std::string_view k200 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

std::string str(const JsonValue& v, std::string_view path) {
  const JsonValue* x = v.path(path);
  return x == nullptr ? "<missing>" : x->is_null() ? "<null>" : x->text;
}

// Payloads in order, each from the client (true) or the server (false).
using Talk = std::vector<std::pair<bool, std::string>>;

void converse(Replay& run, Tcp& tcp, const Talk& talk) {
  for (const auto& [from_client, data] : talk) {
    run.send(from_client ? tcp.client(kPA, data) : tcp.server(kPA, data));
  }
}

// A whole connection: handshake, `talk`, close.
void connection(Replay& run, std::uint16_t client_port, std::uint16_t server_port,
                const Talk& talk) {
  Tcp tcp;
  tcp.client_port = client_port;
  tcp.server_port = server_port;
  tcp.handshake(run);
  converse(run, tcp, talk);
  tcp.close(run);
}

// The record of kGet answered by k200.
void expect_get_200(const JsonValue& r) {
  EXPECT_EQ(str(r, "outcome"), "complete");
  EXPECT_EQ(str(r, "request.uri"), "/items?id=7");
  EXPECT_EQ(str(r, "response.status"), "200");
}

std::vector<std::string> anomalies(const JsonValue& v) {
  std::vector<std::string> out;
  if (const JsonValue* a = v.path("anomalies")) {
    for (const auto& i : a->items) out.push_back(i.text);
  }
  return out;
}

TEST(Pipeline, HandshakeRequestResponseFin) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));     // t0 + 3 ms
  run.send(tcp.server(kPA, k200));     // t0 + 4 ms
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  const JsonValue& r = recs[0];
  EXPECT_EQ(str(r, "outcome"), "complete");
  EXPECT_EQ(str(r, "error_type"), "<null>");
  EXPECT_FALSE(flag(r, "failed"));
  EXPECT_EQ(str(r, "client.ip"), "10.0.0.1");
  EXPECT_EQ(str(r, "client.port"), "40000");
  EXPECT_EQ(str(r, "server.ip"), "10.0.0.2");
  EXPECT_EQ(str(r, "server.port"), "80");
  EXPECT_EQ(str(r, "request.method"), "GET");
  EXPECT_EQ(str(r, "request.path"), "/items");
  EXPECT_EQ(str(r, "request.query"), "id=7");
  EXPECT_EQ(str(r, "request.host"), "shop");
  EXPECT_EQ(str(r, "response.status"), "200");
  EXPECT_EQ(str(r, "response.body"), "hello");
  EXPECT_EQ(str(r, "timing.request_start"), "1700000000.003000");
  EXPECT_EQ(str(r, "timing.latency_ms"), "1.000");
  EXPECT_EQ(str(r, "connection.index"), "0");
  EXPECT_TRUE(anomalies(r).empty());
  auto c = run.counters();
  EXPECT_EQ(c.worker.flows_created, 1u);
  EXPECT_EQ(c.worker.flows_closed, 1u);
  EXPECT_EQ(c.output.exchanges, 1u);
  EXPECT_EQ(c.decode[0], 8u);  // 3 handshake + request + response + 3 close
}

// The message key: the connection by default; with --key correlation_id the request's
// X-Request-ID, falling back to the connection when there is none; nothing with none.
TEST(Pipeline, RecordKeyFollowsKeyMode) {
  const std::string traced =
      "GET /t HTTP/1.1\r\nHost: shop\r\nX-Request-ID: req-42\r\n\r\n";
  struct Case {
    KafkaKeyMode mode;
    std::vector<std::string> keys;
  } cases[] = {
      {KafkaKeyMode::Connection, {"10.0.0.1:40000-10.0.0.2:80", "10.0.0.1:40000-10.0.0.2:80"}},
      {KafkaKeyMode::CorrelationId, {"req-42", "10.0.0.1:40000-10.0.0.2:80"}},
      {KafkaKeyMode::None, {"", ""}},
  };
  // The keys of the two records, with a sink that reads keys or one that does not.
  auto keys_of = [&](KafkaKeyMode mode, bool sink_reads_keys) {
    Replay run([&](Config& c) { c.kafka.key = mode; }, sink_reads_keys);
    Tcp tcp;
    tcp.handshake(run);
    run.send(tcp.client(kPA, traced + std::string(kGet)));
    run.send(tcp.server(kPA, std::string(k200) + std::string(k200)));
    tcp.close(run);
    std::vector<std::string> keys;
    for (const auto& r : run.raw()) keys.push_back(r.key);
    return keys;
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(keys_of(tc.mode, true), tc.keys) << static_cast<int>(tc.mode);
    // A sink without keys (a file) is given none, whatever the mode.
    EXPECT_EQ(keys_of(tc.mode, false), (std::vector<std::string>{"", ""}))
        << static_cast<int>(tc.mode);
  }
}

TEST(Pipeline, PublishFailedKeepsOnlyFailures) {
  Replay run([](Config& c) { c.publish = PublishMode::Failed; });
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, std::string(k200) + "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/b");
  EXPECT_EQ(str(recs[0], "error_type"), "backend_unavailable");
  EXPECT_EQ(str(recs[0], "connection.index"), "1");
  EXPECT_EQ(run.counters().output.exchanges, 2u);
  EXPECT_EQ(run.counters().output.not_published, 1u);
}

TEST(Pipeline, ResetMidResponse) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"));
  run.send(tcp.server(f::kRst | f::kAck));
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "connection_reset");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  EXPECT_EQ(str(recs[0], "response.body"), "partial");
  EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"response_incomplete"}));
}

TEST(Pipeline, ResetBeforeAnyResponse) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(f::kRst));
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "connection_reset");
  EXPECT_EQ(str(recs[0], "response"), "<null>");
}

TEST(Pipeline, SynRetryIsOneConnection) {
  Replay run;
  Tcp tcp;
  Packet syn = tcp.client(f::kSyn);
  run.send(syn);
  syn.ts.micros += 1'000'000;
  run.send(syn);  // retransmitted SYN, same ISN
  run.send(tcp.server(f::kSyn | f::kAck));
  run.send(tcp.client(f::kAck));
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_TRUE(anomalies(recs[0]).empty());
  EXPECT_EQ(run.counters().worker.flows_created, 1u);
  EXPECT_EQ(run.counters().worker.flows_reused, 0u);
}

TEST(Pipeline, FourTupleReuseAfterFin) {
  Replay run;
  Tcp first;
  first.handshake(run);
  run.send(first.client(kPA, "GET /first HTTP/1.1\r\n\r\n"));
  run.send(first.server(kPA, k200));
  first.close(run);
  Tcp second;  // same addresses and ports, new ISNs
  second.cseq = 777777;
  second.sseq = 555555;
  second.t = first.t + 2'000'000;
  second.handshake(run);
  run.send(second.client(kPA, "GET /second HTTP/1.1\r\n\r\n"));
  run.send(second.server(kPA, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
  second.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/first");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  EXPECT_EQ(str(recs[1], "request.uri"), "/second");
  EXPECT_EQ(str(recs[1], "response.status"), "404");
  EXPECT_EQ(str(recs[1], "connection.index"), "0");
  EXPECT_NE(str(recs[0], "connection.id"), str(recs[1], "connection.id"));
  EXPECT_EQ(run.counters().worker.flows_created, 2u);
  EXPECT_EQ(run.counters().worker.flows_reused, 1u);
}


// A finished connection gives its HTTP state back at once but lingers in the table: a
// late retransmission is absorbed (no new flow, no record), and what its parsers counted
// still reaches the totals when it leaves the table, by the sweep or at the end.
TEST(Pipeline, FinishedConnectionLingersWithItsCounters) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  run.send(tcp.client(kPA, "GET /second HTTP/1.1\r\n\r\n"));
  const std::uint32_t second_response_seq = tcp.sseq;
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  // The last response again, after the close: a retransmission.
  tcp.sseq = second_response_seq;
  run.send(tcp.server(kPA, k200));
  EXPECT_EQ(run.counters().worker.flows_created, 1u);
  // Another connection 11 s later (packet time): the sweep retires the first.
  Tcp later;
  later.client_port = 40001;
  later.t = tcp.t + 11'000'000;
  later.handshake(run);
  const auto swept = run.counters().worker.connections;
  EXPECT_EQ(swept.parser.messages, 4u);  // two requests, two responses
  EXPECT_EQ(swept.reassembly.delivered_bytes,
            kGet.size() + 38 + 24 + k200.size());
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[1], "request.uri"), "/second");
  EXPECT_EQ(run.counters().worker.flows_created, 2u);
  EXPECT_EQ(run.counters().worker.connections.parser.messages, 4u);
}
// TCP Fast Open: the request travels in the SYN, the response may start in the SYN-ACK.
// Their bytes follow the sequence number the SYN flag takes (ISN + 1 is the first byte).
TEST(Pipeline, DataInSynAndSynAckIsTheStartOfEachStream) {
  Replay run;
  Tcp tcp;
  run.send(tcp.client(f::kSyn, kGet));
  run.send(tcp.server(f::kSyn | f::kAck, k200));
  run.send(tcp.client(f::kAck));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_EQ(str(recs[0], "request.uri"), "/items?id=7");
  EXPECT_EQ(str(recs[0], "response.body"), "hello");
  EXPECT_TRUE(anomalies(recs[0]).empty());
  EXPECT_EQ(run.counters().worker.connections.parser.parse_errors, 0u);
}

// RSTs whose sequence number the receiver would not accept (behind the next expected
// byte, or far past it) do not end the connection; they are counted.
TEST(Pipeline, RstOutsideTheWindowIsIgnoredAndCounted) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  const std::uint32_t next = tcp.sseq;
  tcp.sseq = next - 1000;
  run.send(tcp.server(f::kRst | f::kAck));
  tcp.sseq = next + 0x40000000;
  run.send(tcp.server(f::kRst));
  tcp.cseq += 0x80000000;  // from the client too
  run.send(tcp.client(f::kRst));
  tcp.cseq -= 0x80000000;
  tcp.sseq = next;
  EXPECT_TRUE(run.records().empty());
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  run.finish();
  EXPECT_EQ(run.counters().worker.connections.rst_ignored, 3u);
}

// An RST in the window, then more of the same sender's stream: a real stack sends nothing
// after its RST, so it was injected (or dropped before the receiver). The exchange open at
// the RST was emitted as reset; what follows is still reported.
TEST(Pipeline, InjectedRstThenMoreDataFromTheSenderDoesNotHideExchanges) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(f::kRst | f::kAck));  // at the server's next sequence number
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "connection_reset");
  run.send(tcp.server(kPA, k200));  // the server goes on: the RST was not its own
  run.send(tcp.client(kPA, "GET /after HTTP/1.1\r\nHost: shop\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
  tcp.close(run);
  recs = run.records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(str(recs[1], "outcome"), "orphan_response");
  EXPECT_EQ(str(recs[1], "response.status"), "200");
  EXPECT_EQ(str(recs[2], "outcome"), "complete");
  EXPECT_EQ(str(recs[2], "request.uri"), "/after");
  EXPECT_EQ(str(recs[2], "response.status"), "404");
  EXPECT_EQ(str(recs[2], "connection.id"), str(recs[0], "connection.id"));
  run.finish();
  EXPECT_EQ(run.counters().worker.connections.rst_ignored, 1u);
  EXPECT_EQ(run.counters().worker.connections.parser.messages, 4u);  // both parser states
  EXPECT_EQ(run.counters().worker.flows_created, 1u);
}

// The same on a connection picked up mid-stream: what follows the RST still says so.
TEST(Pipeline, ConnectionBackAfterIgnoredRstKeepsMidStream) {
  Replay run;
  Tcp tcp;
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k200));
  run.send(tcp.client(f::kRst | f::kAck));
  run.send(tcp.client(kPA, "GET /after HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, k200));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[1], "request.uri"), "/after");
  EXPECT_EQ(str(recs[1], "outcome"), "complete");
  EXPECT_EQ(anomalies(recs[1]), (std::vector<std::string>{"mid_stream"}));
  EXPECT_EQ(run.counters().worker.connections.rst_ignored, 1u);
}

// Back after an ignored RST, the sender's first packet may acknowledge peer bytes the
// capture missed: that gap reaches the peer's parser before any new data does.
TEST(Pipeline, ConnectionBackAfterIgnoredRstWithAnAcknowledgedGap) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(f::kRst | f::kAck));
  tcp.cseq += 100;  // the client sent 100 bytes the capture missed
  run.send(tcp.server(kPA, k200));
  run.send(tcp.client(kPA, "GET /after HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(str(recs[0], "outcome"), "connection_reset");
  EXPECT_EQ(str(recs[1], "outcome"), "orphan_response");
  EXPECT_EQ(str(recs[2], "request.uri"), "/after");
  EXPECT_EQ(str(recs[2], "response.status"), "404");
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.rst_ignored, 1u);
  EXPECT_EQ(c.ack_gaps, 1u);
  EXPECT_EQ(c.reassembly.gap_bytes, 100u);
}

// A real reset: the peer's bytes in flight after it (sent before the RST arrived) and
// more RSTs do not bring the connection back.
TEST(Pipeline, RealResetStaysEndedWhateverThePeerSends) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(f::kRst | f::kAck));
  run.send(tcp.client(kPA, "GET /in-flight HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(f::kRst));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "connection_reset");
  EXPECT_EQ(run.counters().worker.connections.rst_ignored, 0u);
  EXPECT_EQ(run.counters().worker.flows_closed, 1u);
}

// A capture that starts on a keep-alive probe (one byte at the sequence number before the
// next one) must start the stream after it, so the request that follows is parsed.
TEST(Pipeline, MidStreamStartOnAKeepAliveProbe) {
  for (bool peer_ack_first : {false, true}) {
    SCOPED_TRACE(peer_ack_first ? "after the server's ACK" : "first packet");
    Replay run;
    Tcp tcp;
    if (peer_ack_first) run.send(tcp.server(f::kAck));
    tcp.cseq -= 1;
    run.send(tcp.client(f::kAck, "\x00"sv));
    run.send(tcp.server(f::kAck));
    run.send(tcp.client(kPA, kGet));
    run.send(tcp.server(kPA, k200));
    run.finish();
    auto recs = run.records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(str(recs[0], "request.uri"), "/items?id=7");
    EXPECT_EQ(str(recs[0], "response.status"), "200");
    EXPECT_EQ(run.counters().worker.connections.parser.sync_skipped_bytes, 0u);
  }
}

// A probe inside a followed stream repeats a delivered byte with garbage: not a conflict.
TEST(Pipeline, KeepAliveProbeIsNotAnOverlapConflict) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  tcp.cseq -= 1;
  run.send(tcp.client(f::kAck, "\x00"sv));
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(anomalies(recs[0]).empty());
  run.finish();
  EXPECT_EQ(run.counters().worker.connections.reassembly.duplicate_bytes, 0u);
  EXPECT_EQ(run.counters().worker.connections.reassembly.overlap_conflicts, 0u);
}

// The client's SYN and request retransmitted after the connection closed (same ISN): they
// belong to the finished connection, not to a new one with an orphan response.
TEST(Pipeline, SynRetransmittedAfterCloseBelongsToTheOldConnection) {
  Replay run;
  Tcp tcp;
  Packet syn = tcp.client(f::kSyn);
  run.send(syn);
  Packet syn_ack = tcp.server(f::kSyn | f::kAck);
  run.send(syn_ack);
  run.send(tcp.client(f::kAck));
  Packet get = tcp.client(kPA, kGet);
  run.send(get);
  Packet ok = tcp.server(kPA, k200);
  run.send(ok);
  tcp.close(run);
  for (Packet* p : {&syn, &syn_ack, &get, &ok}) {
    p->ts.micros += 2'000'000;
    run.send(*p);
  }
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_EQ(run.counters().worker.flows_created, 1u);
  EXPECT_EQ(run.counters().worker.flows_reused, 0u);
  EXPECT_EQ(run.counters().worker.connections.orphan_responses, 0u);
  EXPECT_EQ(run.counters().worker.connections.reassembly.duplicate_bytes,
            kGet.size() + k200.size());
}

// Two copies of the response head that disagree: the first one wins (what the receiver
// took), and the exchange is flagged whichever came first.
TEST(Pipeline, InjectedResponseHeadIsAnOverlapConflictEitherWay) {
  constexpr std::string_view kReal = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
  constexpr std::string_view kFake = "HTTP/1.1 302 OK\r\nContent-Length: 5\r\n\r\n";
  for (bool fake_first : {true, false}) {
    SCOPED_TRACE(fake_first ? "injected copy first" : "injected copy second");
    Replay run;
    Tcp tcp;
    tcp.handshake(run);
    run.send(tcp.client(kPA, kGet));
    const std::uint32_t head = tcp.sseq;
    run.send(tcp.server(kPA, fake_first ? kFake : kReal));
    tcp.sseq = head;
    run.send(tcp.server(kPA, fake_first ? kReal : kFake));
    run.send(tcp.server(kPA, "hello"));
    tcp.close(run);
    auto recs = run.records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(str(recs[0], "response.status"), fake_first ? "302" : "200");
    EXPECT_EQ(str(recs[0], "response.body"), "hello");
    EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"overlap_conflict"}));
    run.finish();  // the finished connection's counters reach the totals when it leaves
    EXPECT_EQ(run.counters().worker.connections.reassembly.overlap_conflicts, 1u);
  }
}

TEST(Pipeline, MidStreamPickUpOnARequest) {
  Replay run;
  Tcp tcp;
  run.send(tcp.client(kPA, kGet));  // no handshake seen
  run.send(tcp.server(kPA, k200));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  expect_get_200(recs[0]);
  EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"mid_stream"}));
}

TEST(Pipeline, MidStreamPickUpOnAResponseIsOrphan) {
  Replay run;
  Tcp tcp;
  run.send(tcp.server(kPA, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nerr"));
  run.send(tcp.client(f::kAck));
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k200));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "outcome"), "orphan_response");
  EXPECT_EQ(str(recs[0], "request"), "<null>");
  EXPECT_EQ(str(recs[0], "response.status"), "500");
  EXPECT_EQ(str(recs[0], "client.port"), "40000");  // roles from the status line
  EXPECT_EQ(str(recs[1], "outcome"), "complete");
  EXPECT_EQ(str(recs[1], "request.uri"), "/items?id=7");
  EXPECT_EQ(str(recs[1], "response.status"), "200");
}

TEST(Pipeline, MidStreamInsideABodySkipsToTheNextRequest) {
  Replay run;
  Tcp tcp;
  run.send(tcp.client(kPA, "tail of an earlier body\r\n"));
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k200));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/items?id=7");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  EXPECT_EQ(str(recs[0], "client.ip"), "10.0.0.1");
}

// Issue 17: a connection in which neither direction is HTTP makes no record, and is
// counted with its bytes.
TEST(Pipeline, NotHttpConnectionsMakeNoRecord) {
  const std::string client_hello = std::string("\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03", 11) +
                                   std::string(44, '\x5a');
  const std::string server_hello = std::string("\x16\x03\x03\x00\x20\x02\x00\x00\x1c\x03\x03", 11) +
                                   std::string(28, '\x33');
  Replay run;
  connection(run, 40000, 443, {{true, client_hello}, {false, server_hello}});
  connection(run, 40001, 25,  // the server speaks first
             {{false, "220 mail.example ESMTP\r\n"},
              {true, "EHLO client.example\r\n"},
              {false, "250 mail.example\r\n"}});
  connection(run, 40002, 80, {{true, std::string(kGet)}, {false, std::string(k200)}});
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "client.port"), "40002");
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.not_http_connections, 2u);
  EXPECT_EQ(c.not_http_bytes, client_hello.size() + server_hello.size() + 24 + 21 + 18);
  EXPECT_EQ(c.parser.parse_errors, 0u);
}

TEST(Pipeline, NotHttpPickedUpMidStreamIsCounted) {
  Replay run;
  Tcp tcp;
  run.send(tcp.client(kPA, std::string("\x17\x03\x03\x00\x10", 5) + std::string(16, '\x01')));
  run.send(tcp.server(kPA, std::string("\x17\x03\x03\x00\x08", 5) + std::string(8, '\x02')));
  run.finish();
  EXPECT_TRUE(run.records().empty());
  EXPECT_EQ(run.counters().worker.connections.not_http_connections, 1u);
  EXPECT_EQ(run.counters().worker.connections.not_http_bytes, 34u);
}

// A peer that answers in HTTP makes the connection HTTP: the other direction's
// foreign bytes are one parse error, not a silent loss.
TEST(Pipeline, TlsAnsweredWithAStatusLineIsAParseError) {
  Replay run;
  connection(run, 40000, 443,
             {{true, std::string("\x16\x03\x01\x00\x9b\x01\x00\x00\x97\x03\x03", 11)},
              {false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}});
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "parse_error");
  EXPECT_EQ(str(recs[0], "response.status"), "400");
  EXPECT_EQ(str(recs[0], "error_detail").rfind("not HTTP: ", 0), 0u) << str(recs[0], "error_detail");
  EXPECT_EQ(run.counters().worker.connections.not_http_connections, 0u);
}

// Issue 17 item 5: the first bytes seen are body bytes, and the port guess (the higher
// port is the client) is wrong; the first start line seen, a status line or a request
// line, reverses it. `opening` is sent first (true: by the client), then a GET and its 200.
std::vector<JsonValue> reversed_roles(const Talk& opening) {
  Replay run;
  Tcp tcp;
  tcp.client_port = 1000;
  tcp.server_port = 8080;
  converse(run, tcp, opening);
  converse(run, tcp, {{true, std::string(kGet)}, {false, std::string(k200)}});
  run.finish();
  auto recs = run.records();
  EXPECT_FALSE(recs.empty());
  if (recs.empty()) return recs;
  expect_get_200(recs.back());
  EXPECT_EQ(str(recs.back(), "client.port"), "1000");
  EXPECT_EQ(str(recs.back(), "server.port"), "8080");
  return recs;
}

TEST(Pipeline, MidStreamRolesFollowTheFirstStartLine) {
  auto by_status = reversed_roles(
      {{true, "tail of an upload body\r\n"},
       {false, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}});
  ASSERT_EQ(by_status.size(), 2u);
  EXPECT_EQ(str(by_status[0], "outcome"), "orphan_response");
  EXPECT_EQ(str(by_status[0], "response.status"), "201");
  EXPECT_EQ(str(by_status[0], "client.port"), "1000");
  auto by_request =
      reversed_roles({{false, "tail of a download\r\n"}, {true, "tail of an upload\r\n"}});
  EXPECT_EQ(by_request.size(), 1u);
}

// Issue 17 items 3 and 13: picked up inside a binary upload; the next request starts
// in the same segment, right after the upload's last bytes.
TEST(Pipeline, MidStreamRequestAfterBinaryBytesInASegment) {
  Replay run;
  Tcp tcp;
  run.send(tcp.server(kPA, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
  run.send(tcp.client(kPA, std::string("\x00\x9c\xff\x10\x7f", 5) + std::string(kGet)));
  run.send(tcp.server(kPA, k200));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "outcome"), "orphan_response");
  expect_get_200(recs[1]);
  EXPECT_EQ(run.counters().worker.connections.parser.sync_skipped_bytes, 5u);
}

TEST(Pipeline, OutOfOrderSegments) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  std::string req = "POST /upload HTTP/1.1\r\nContent-Length: 6\r\n\r\nabcdef";
  Packet first = tcp.client(kPA, req.substr(0, 20));
  Packet second = tcp.client(kPA, req.substr(20));
  run.send(second);
  run.send(first);
  std::string resp = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  Packet r1 = tcp.server(kPA, resp.substr(0, 10));
  Packet r2 = tcp.server(kPA, resp.substr(10, 10));
  Packet r3 = tcp.server(kPA, resp.substr(20));
  run.send(r3);
  run.send(r1);
  run.send(r2);
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/upload");
  EXPECT_EQ(str(recs[0], "request.body"), "abcdef");
  EXPECT_EQ(str(recs[0], "response.status"), "201");
  EXPECT_EQ(str(recs[0], "response.body"), "ok");
  EXPECT_TRUE(anomalies(recs[0]).empty());
}

TEST(Pipeline, LostSegmentInsideBodyIsAGap) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789"));
  tcp.server(kPA, "ABCDEFGHIJ");  // lost by the capture
  run.send(tcp.server(kPA, "klmnopqrst"));
  run.send(tcp.client(f::kAck));  // the client got everything
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_EQ(str(recs[0], "response.body_size"), "30");
  EXPECT_EQ(str(recs[0], "response.body_missing"), "10");
  EXPECT_EQ(str(recs[0], "response.body"), "0123456789klmnopqrst");
  EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"gap"}));
  run.finish();  // connection counters are summed when a connection is retired
  EXPECT_EQ(run.counters().worker.connections.reassembly.gap_bytes, 10u);
  EXPECT_EQ(run.counters().worker.connections.ack_gaps, 1u);
}

TEST(Pipeline, LostRequestSegmentThenNextRequestStillPaired) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  tcp.client(kPA, "GET /lost HTTP/1.1\r\n\r\n");  // never captured
  run.send(tcp.server(kPA, "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n"));  // acks the lost one
  run.send(tcp.client(kPA, "GET /seen HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "outcome"), "orphan_response");
  EXPECT_EQ(str(recs[0], "response.status"), "500");
  EXPECT_EQ(str(recs[1], "request.uri"), "/seen");
  EXPECT_EQ(str(recs[1], "response.status"), "200");
}

TEST(Pipeline, LostResponsesRealignByAcknowledgements) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, "GET /1 HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  run.send(tcp.client(kPA, "GET /2 HTTP/1.1\r\n\r\n"));
  tcp.server(kPA, "HTTP/1.1 202 X\r\nContent-Length: 0\r\n\r\n");  // never captured
  run.send(tcp.client(kPA, "GET /3 HTTP/1.1\r\n\r\n"));  // acknowledges the lost one
  run.send(tcp.server(kPA, "HTTP/1.1 203 X\r\nContent-Length: 0\r\n\r\n"));
  tcp.client(kPA, "GET /4 HTTP/1.1\r\n\r\n");  // never captured
  tcp.server(kPA, "HTTP/1.1 204 X\r\n\r\n");  // never captured
  run.send(tcp.client(kPA, "GET /5 HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 205 X\r\nContent-Length: 0\r\n\r\n"));
  tcp.client(kPA, "GET /6 HTTP/1.1\r\n\r\n");  // never captured
  run.send(tcp.server(kPA, "HTTP/1.1 206 X\r\nContent-Length: 0\r\n\r\n"));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/1");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  EXPECT_TRUE(anomalies(recs[0]).empty());
  EXPECT_EQ(str(recs[1], "request.uri"), "/2");  // its response was lost
  EXPECT_EQ(str(recs[1], "response"), "<null>");
  EXPECT_EQ(str(recs[1], "outcome"), "complete");
  EXPECT_EQ(anomalies(recs[1]), (std::vector<std::string>{"gap"}));
  EXPECT_EQ(str(recs[2], "request.uri"), "/3");
  EXPECT_EQ(str(recs[2], "response.status"), "203");
  EXPECT_TRUE(anomalies(recs[2]).empty());
  // /4 and its response were lost together: /5 pairs with its own response and is the
  // record that says exchanges were lost before it.
  EXPECT_EQ(str(recs[3], "request.uri"), "/5");
  EXPECT_EQ(str(recs[3], "response.status"), "205");
  EXPECT_EQ(anomalies(recs[3]), (std::vector<std::string>{"gap"}));
  // /6 was lost: its response answers no request seen.
  EXPECT_EQ(str(recs[4], "outcome"), "orphan_response");
  EXPECT_EQ(str(recs[4], "response.status"), "206");
  EXPECT_EQ(anomalies(recs[4]), (std::vector<std::string>{"gap"}));
}

TEST(Pipeline, MidStreamResponsesBeforeTheCaptureDoNotShiftPairs) {
  Replay run;
  Tcp tcp;  // no handshake: the capture begins with two requests
  run.send(tcp.client(kPA, "GET /1 HTTP/1.1\r\n\r\n"));
  tcp.server(kPA, "HTTP/1.1 201 X\r\nContent-Length: 0\r\n\r\n");  // before the capture
  run.send(tcp.client(kPA, "GET /2 HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 202 X\r\nContent-Length: 0\r\n\r\n"));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "request.uri"), "/1");
  EXPECT_EQ(str(recs[0], "response"), "<null>");
  EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"gap", "mid_stream"}));
  EXPECT_EQ(str(recs[1], "request.uri"), "/2");
  EXPECT_EQ(str(recs[1], "response.status"), "202");
}

TEST(Pipeline, FirstResponsesLostAfterTheHandshakeDoNotShiftPairs) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, "GET /1 HTTP/1.1\r\n\r\n"));
  tcp.server(kPA, "HTTP/1.1 201 X\r\nContent-Length: 0\r\n\r\n");  // lost
  run.send(tcp.client(kPA, "GET /2 HTTP/1.1\r\n\r\n"));
  tcp.server(kPA, "HTTP/1.1 202 X\r\nContent-Length: 0\r\n\r\n");  // lost
  run.send(tcp.client(kPA, "GET /3 HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 203 X\r\nContent-Length: 0\r\n\r\n"));
  tcp.close(run);
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(str(recs[0], "response"), "<null>");
  EXPECT_EQ(anomalies(recs[0]), (std::vector<std::string>{"gap"}));
  EXPECT_EQ(str(recs[1], "response"), "<null>");
  EXPECT_EQ(str(recs[2], "request.uri"), "/3");
  EXPECT_EQ(str(recs[2], "response.status"), "203");
}

TEST(Pipeline, ResponseTimeoutOnPacketTime) {
  Replay run([](Config& c) { c.reassembly.response_timeout_s = 2; });
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  // Another connection keeps packet time moving; ours stays quiet for 5 s.
  Tcp other;
  other.client_port = 40001;
  other.t = tcp.t + 5'000'000;
  run.send(other.client(f::kSyn));
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "timeout");
  EXPECT_EQ(str(recs[0], "error_type"), "backend_unavailable");
  EXPECT_EQ(str(recs[0], "request.uri"), "/items?id=7");
  EXPECT_EQ(str(recs[0], "response"), "<null>");
  // The late response is consumed; the connection's next exchange pairs correctly.
  tcp.t = other.t + 1000;
  run.send(tcp.server(kPA, k200));
  run.send(tcp.client(kPA, "GET /again HTTP/1.1\r\n\r\n"));
  run.send(tcp.server(kPA, "HTTP/1.1 204 No Content\r\n\r\n"));
  tcp.close(run);
  recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[1], "request.uri"), "/again");
  EXPECT_EQ(str(recs[1], "response.status"), "204");
  run.finish();
  EXPECT_EQ(run.counters().worker.connections.late_responses, 1u);
  EXPECT_EQ(run.records().size(), 2u);
}

TEST(Pipeline, CaptureEndWithOpenRequest) {
  Replay run;
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  EXPECT_TRUE(run.records().empty());
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "outcome"), "capture_ended");
}

TEST(Pipeline, Ipv6AndVlanFrames) {
  Replay run;
  auto pkt = [](bool from_client, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                std::string_view data, std::int64_t t) {
    PacketBuilder b;
    b.eth().vlan(10, 0x88A8).vlan(20);
    if (from_client) {
      b.ipv6("fd00::1", "fd00::2").tcp(50000, 8080, seq, ack, flags);
    } else {
      b.ipv6("fd00::2", "fd00::1").tcp(8080, 50000, seq, ack, flags);
    }
    return b.payload(data).at_micros(t).build();
  };
  run.send(pkt(true, 10, 0, f::kSyn, "", kT0));
  run.send(pkt(false, 500, 11, f::kSyn | f::kAck, "", kT0 + 1));
  run.send(pkt(true, 11, 501, kPA, kGet, kT0 + 2));
  run.send(pkt(false, 501, 11 + static_cast<std::uint32_t>(kGet.size()), kPA, k200, kT0 + 3));
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "client.ip"), "fd00::1");
  EXPECT_EQ(str(recs[0], "server.port"), "8080");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
}

// --- memory budget and shedding (common/memory_budget.hpp) --------------------------

constexpr std::int64_t kBudgetBytes = 100 << 20;
constexpr std::string_view kPost = "POST /up HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\n\r\nabcde";
constexpr std::string_view k500 = "HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nhello";

// Moves the budget's usage to `percent` of its limit (besides what the pipeline holds).
struct Pressure {
  MemoryBudget& budget;
  std::int64_t held = 0;
  void set(std::int64_t percent) {
    const std::int64_t want = kBudgetBytes * percent / 100;
    budget.lease(want - held);
    held = want;
  }
};

TEST(Shedding, AccountsFlowsParsersAndOpenExchangesAndGivesThemBack) {
  MemoryBudget budget(kBudgetBytes);
  Replay run([&](Config& c) { c.memory = &budget; });
  Tcp tcp;
  tcp.handshake(run);
  auto m = run.counters().worker.memory;
  EXPECT_GT(m[MemoryPool::Flows], 0);
  EXPECT_EQ(m[MemoryPool::Http], 0);  // no payload yet: no parser state
  run.send(tcp.client(kPA, kPost));
  m = run.counters().worker.memory;
  EXPECT_GT(m[MemoryPool::Http], 2000);
  EXPECT_GT(m[MemoryPool::Exchanges], 500);  // the request waits for its response
  Tcp other;
  other.client_port = 40001;
  other.handshake(run);
  run.send(other.client(kPA, "GET / HTTP/1.1\r\n\r\n"));
  run.send(other.client(kPA, "\r\n"));
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  run.finish();
  m = run.counters().worker.memory;
  for (std::size_t i = 0; i < kMemoryPools; ++i) {
    if (static_cast<MemoryPool>(i) == MemoryPool::Flows) continue;
    EXPECT_EQ(m.bytes[i], 0) << to_string(static_cast<MemoryPool>(i));
  }
  // The flow table keeps its blocks for reuse, and they stay accounted.
  EXPECT_GE(m[MemoryPool::Flows],
            static_cast<std::int64_t>(2 * FlowTable<std::optional<Connection>>::entry_bytes()));
  EXPECT_EQ(run.counters().memory.limit, static_cast<std::uint64_t>(kBudgetBytes));
}

TEST(Shedding, FlowTableStaysWithinItsShareOfTheBudget) {
  MemoryBudget budget(16 << 20);
  Replay run([&](Config& c) {
    c.memory = &budget;
    c.workers = 1;
  });
  const std::size_t fit = (16u << 20) / 100 * 45 / FlowTable<std::optional<Connection>>::entry_bytes();
  for (std::size_t i = 0; i < fit + 500; ++i) {
    Tcp tcp;
    tcp.client_ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    run.send(tcp.client(f::kSyn));
  }
  const auto c = run.counters();
  EXPECT_EQ(c.active_flows, fit);
  EXPECT_EQ(c.worker.flows_evicted, 500u);  // by the table's bound, not by shedding
  EXPECT_EQ(c.memory.max_level, 0);
  EXPECT_LE(c.worker.memory[MemoryPool::Flows], (16 << 20) / 100 * 50);
}

TEST(Shedding, Level1KeepsNoBodiesOfNewMessagesAndIsUndone) {
  MemoryBudget budget(kBudgetBytes);
  Pressure pressure{budget};
  Replay run([&](Config& c) { c.memory = &budget; });
  pressure.set(62);
  EXPECT_EQ(budget.level(), kShedBodies);
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kPost));
  run.send(tcp.server(kPA, k200));
  pressure.set(10);  // the level drops below 55%: undone
  EXPECT_EQ(budget.level(), 0);
  run.send(tcp.client(kPA, kPost));
  run.send(tcp.server(kPA, k200));
  tcp.close(run);
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "degraded"), "1");
  EXPECT_EQ(str(recs[0], "request.body"), "");
  EXPECT_EQ(str(recs[0], "request.body_size"), "5");
  EXPECT_EQ(str(recs[0], "response.body"), "");
  EXPECT_EQ(str(recs[1], "degraded"), "<missing>");
  EXPECT_EQ(str(recs[1], "request.body"), "abcde");
  EXPECT_EQ(str(recs[1], "response.body"), "hello");
  const auto c = run.counters();
  EXPECT_EQ(c.worker.connections.parser.bodies_not_kept, 2u);
  EXPECT_EQ(c.output.degraded, 1u);
  EXPECT_EQ(c.memory.max_level, kShedBodies);
  EXPECT_EQ(c.memory.level_changes, 2u);
}

TEST(Shedding, Level2CountsSuccessesAndRecordsFailures) {
  MemoryBudget budget(kBudgetBytes);
  Pressure pressure{budget};
  Replay run([&](Config& c) { c.memory = &budget; });
  pressure.set(76);
  EXPECT_EQ(budget.level(), kShedSuccesses);
  Tcp tcp;
  tcp.handshake(run);
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k200));
  run.send(tcp.client(kPA, kGet));
  run.send(tcp.server(kPA, k500));
  tcp.close(run);
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(str(recs[0], "response.status"), "500");
  EXPECT_EQ(str(recs[0], "degraded"), "2");
  const auto c = run.counters();
  EXPECT_EQ(c.output.exchanges, 2u);
  EXPECT_EQ(c.output.successes_not_encoded, 1u);
  EXPECT_EQ(c.output.published, 1u);
}

TEST(Shedding, Level3EvictsTheLeastRecentlyActiveFlowsAFewPerSegment) {
  MemoryBudget budget(kBudgetBytes);
  Pressure pressure{budget};
  Replay run([&](Config& c) { c.memory = &budget; });
  std::vector<Tcp> conns(6);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].client_port = static_cast<std::uint16_t>(41000 + i);
    conns[i].t = kT0 + static_cast<std::int64_t>(i) * 1'000'000;  // one per second
    conns[i].handshake(run);
    run.send(conns[i].client(kPA, kGet));
  }
  pressure.set(86);
  EXPECT_EQ(budget.level(), kShedEvict);
  run.send(conns[5].client(f::kAck));  // any segment: four flows go, oldest first
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 4u);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(str(recs[i], "outcome"), "evicted");
    EXPECT_EQ(str(recs[i], "degraded"), "3");
    EXPECT_EQ(str(recs[i], "client.port"), std::to_string(41000 + i));
  }
  const auto c = run.counters();
  EXPECT_EQ(c.worker.flows_evicted_for_budget, 4u);
  EXPECT_EQ(c.active_flows, 2u);
}

TEST(Shedding, Level4RefusesNewFlowsAndTheLimitEvictsEverything) {
  MemoryBudget budget(kBudgetBytes);
  Pressure pressure{budget};
  Replay run([&](Config& c) { c.memory = &budget; });
  Tcp tracked;
  tracked.handshake(run);
  pressure.set(96);
  EXPECT_EQ(budget.level(), kShedRefuse);
  Tcp refused;
  refused.client_port = 40001;
  run.send(refused.client(f::kSyn));
  run.send(refused.client(kPA, kGet));
  auto c = run.counters();
  EXPECT_EQ(c.worker.flows_refused, 2u);
  EXPECT_EQ(c.worker.refused_with_data, 1u);
  EXPECT_EQ(c.worker.flows_created, 1u);
  pressure.set(100);  // at the limit: every flow goes, whatever the cost
  run.send(tracked.client(kPA, kGet));
  c = run.counters();
  EXPECT_EQ(c.active_flows, 0u);
  ASSERT_EQ(run.records().size(), 1u);
  EXPECT_EQ(str(run.records()[0], "outcome"), "evicted");
  EXPECT_EQ(str(run.records()[0], "degraded"), "4");
  pressure.set(0);
  Tcp later;
  later.client_port = 40002;
  later.handshake(run);
  EXPECT_EQ(run.counters().worker.flows_created, 2u);
  EXPECT_EQ(run.counters().memory.level, 0);
}

// h2c with prior knowledge, on a port that says nothing: the server's SETTINGS come
// first, then the client preface; two concurrent streams answered out of order, one a
// gRPC call failing with UNAVAILABLE behind a 200; then an HTTP/1.1 connection as usual.
TEST(Pipeline, Http2PriorKnowledgeStreamsAndGrpcStatus) {
  using namespace http2;
  using http2::test::Bytes;
  auto s = [](const Bytes& b) { return std::string(as_chars(b)); };
  http2::test::Deflater req;
  http2::test::Deflater resp;
  const Bytes get = test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 1,
                                req.block({{":method", "GET"}, {":scheme", "http"},
                                           {":path", "/items?id=7"}, {":authority", "shop"}}));
  const Bytes call = test::cat(
      {test::frame(FrameType::Headers, flag::kEndHeaders, 3,
                   req.block({{":method", "POST"}, {":scheme", "http"},
                              {":path", "/inventory.Stock/Reserve"}, {":authority", "stock"},
                              {"content-type", "application/grpc"}})),
       test::frame(FrameType::Data, flag::kEndStream, 3, http2::test::bytes("\0\0\0\0\x01z"sv))});
  const Bytes grpc_reply = test::cat(
      {test::frame(FrameType::Headers, flag::kEndHeaders, 3,
                   resp.block({{":status", "200"}, {"content-type", "application/grpc"}})),
       test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 3,
                   resp.block({{"grpc-status", "14"}, {"grpc-message", "no%20stock%20service"}}))});
  const Bytes ok = test::cat({test::frame(FrameType::Headers, flag::kEndHeaders, 1,
                                          resp.block({{":status", "200"}})),
                              test::frame(FrameType::Data, flag::kEndStream, 1,
                                          http2::test::bytes("hello"))});
  Replay run;
  connection(run, 40000, 7000,
             {{false, s(test::settings({{3, 100}}))},
              {true, s(test::cat({test::preface(), test::settings({}), get}))},
              {true, s(call)},
              {false, s(grpc_reply)},
              {false, s(ok)}});
  connection(run, 40001, 7000, {{true, std::string(kGet)}, {false, std::string(k200)}});
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 3u);
  const JsonValue& g = recs[0];
  EXPECT_EQ(str(g, "request.version"), "2");
  EXPECT_EQ(str(g, "request.method"), "POST");
  EXPECT_EQ(str(g, "request.host"), "stock");
  EXPECT_EQ(str(g, "response.status"), "200");
  EXPECT_EQ(str(g, "grpc.status"), "14");
  EXPECT_EQ(str(g, "grpc.message"), "no stock service");
  EXPECT_EQ(str(g, "grpc.service"), "inventory.Stock");
  EXPECT_EQ(str(g, "grpc.method"), "Reserve");
  EXPECT_TRUE(flag(g, "failed"));
  EXPECT_EQ(str(g, "error_type"), "backend_unavailable");
  EXPECT_EQ(str(g, "connection.index"), "1");
  const JsonValue& a = recs[1];
  EXPECT_EQ(str(a, "outcome"), "complete");
  EXPECT_EQ(str(a, "request.path"), "/items");
  EXPECT_EQ(str(a, "request.host"), "shop");
  EXPECT_EQ(str(a, "response.body"), "hello");
  EXPECT_EQ(a.path("grpc"), nullptr);
  EXPECT_FALSE(flag(a, "failed"));
  EXPECT_TRUE(anomalies(a).empty());
  expect_get_200(recs[2]);
  EXPECT_EQ(str(recs[2], "request.version"), "1.1");
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.http2.connections, 1u);
  EXPECT_EQ(c.http2.streams, 2u);
  EXPECT_EQ(c.http2.frames, 9u);
  EXPECT_EQ(c.http2.hpack_errors, 0u);
  EXPECT_EQ(c.not_http_connections, 0u);
  EXPECT_EQ(c.parser.parse_errors, 0u);
}

// HTTP/1.1 `Upgrade: h2c` answered by 101: the rest of both streams is HTTP/2 and stream 1
// is the request that asked, one record: the HTTP/1.1 request (version 1.1, as sent),
// the 101 among the interim statuses, stream 1's HTTP/2 response. The client preface may
// arrive before the 101 (held while the upgrade is pending) or after it.
void h2c_upgrade_case(bool preface_first) {
  using namespace http2;
  using http2::test::Bytes;
  auto s = [](const Bytes& b) { return std::string(as_chars(b)); };
  http2::test::Deflater req;
  http2::test::Deflater resp;
  const std::string upgrade_req =
      "GET /old HTTP/1.1\r\nHost: up\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";
  const std::string switching =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
  const std::string preface = s(test::cat({test::preface(), test::settings({})}));
  const std::string server_h2 = s(test::cat(
      {test::settings({}),
       test::frame(FrameType::Headers, flag::kEndHeaders, 1, resp.block({{":status", "200"}})),
       test::frame(FrameType::Data, flag::kEndStream, 1, http2::test::bytes("hi"))}));
  const std::string next = s(test::frame(
      FrameType::Headers, flag::kEndHeaders | flag::kEndStream, 3,
      req.block({{":method", "GET"}, {":scheme", "http"}, {":path", "/new"}, {":authority", "up"}})));
  const std::string next_reply = s(test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream,
                                               3, resp.block({{":status", "204"}})));
  Talk talk = {{true, upgrade_req}};
  if (preface_first) talk.push_back({true, preface});
  talk.push_back({false, switching + server_h2});
  if (!preface_first) talk.push_back({true, preface});
  talk.push_back({true, next});
  talk.push_back({false, next_reply});
  Replay run;
  connection(run, 40000, 80, talk);
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0], "request.path"), "/old");
  EXPECT_EQ(str(recs[0], "request.version"), "1.1");
  EXPECT_EQ(str(recs[0], "request.headers.upgrade"), "h2c");
  ASSERT_EQ(count(recs[0], "interim_statuses"), 1u);
  EXPECT_EQ(recs[0].path("interim_statuses")->items[0].text, "101");
  EXPECT_EQ(str(recs[0], "response.status"), "200");
  EXPECT_EQ(str(recs[0], "response.version"), "2");
  EXPECT_EQ(str(recs[0], "response.body"), "hi");
  EXPECT_EQ(str(recs[0], "outcome"), "complete");
  EXPECT_TRUE(anomalies(recs[0]).empty());
  EXPECT_EQ(str(recs[0], "connection.index"), "0");
  EXPECT_EQ(str(recs[1], "request.path"), "/new");
  EXPECT_EQ(str(recs[1], "request.version"), "2");
  EXPECT_EQ(str(recs[1], "response.status"), "204");
  EXPECT_EQ(str(recs[1], "connection.index"), "1");
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.http2.connections, 1u);
  EXPECT_EQ(c.http2.upgrades, 1u);
  EXPECT_EQ(c.http2.streams, 2u);
  EXPECT_EQ(c.parser.tunnel_bytes, 0u);  // every byte after the 101 went to HTTP/2
}

TEST(Pipeline, Http2UpgradeFromHttp11PrefaceAfter101) { h2c_upgrade_case(false); }
TEST(Pipeline, Http2UpgradeFromHttp11PrefaceBefore101) { h2c_upgrade_case(true); }

// A 101 to h2c after an earlier HTTP/1.1 exchange, and no HTTP/2 byte before the end: the
// 101 is the upgrade request's record (upgraded), as for any other 101.
TEST(Pipeline, Http2UpgradeWithNoHttp2BytesKeepsThe101) {
  Replay run;
  connection(run, 40000, 80,
             {{true, std::string(kGet)},
              {false, std::string(k200)},
              {true, "GET /old HTTP/1.1\r\nHost: up\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                     "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"},
              {false, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      "Upgrade: h2c\r\n\r\n"}});
  run.finish();
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 2u);
  expect_get_200(recs[0]);
  EXPECT_EQ(str(recs[1], "request.path"), "/old");
  EXPECT_EQ(str(recs[1], "response.status"), "101");
  EXPECT_EQ(count(recs[1], "interim_statuses"), 0u);
  EXPECT_EQ(anomalies(recs[1]), std::vector<std::string>{"upgraded"});
  EXPECT_EQ(str(recs[1], "connection.index"), "1");
  EXPECT_EQ(run.counters().worker.connections.http2.connections, 0u);
}

// --response-timeout per HTTP/2 stream: on a connection that stays busy with other
// streams the stream waiting for its response is emitted as timed out at packet time
// (as HTTP/1.x: outcome timeout, backend_unavailable); its late answer is counted in
// late_responses. A quiet connection's stream is timed out by the worker's sweep.
// Both HPACK encoders of an h2c connection; frames as TCP payloads.
struct H2Peers {
  http2::test::Deflater req;
  http2::test::Deflater resp;
  static std::string payload(const http2::test::Bytes& b) { return std::string(as_chars(b)); }
  std::string preface() {
    return payload(http2::test::cat({http2::test::preface(), http2::test::settings({})}));
  }
  std::string get(std::uint32_t id, const char* path) {
    using namespace http2;
    return payload(test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, id,
                               req.block({{":method", "GET"}, {":scheme", "http"},
                                          {":path", path}, {":authority", "svc"}})));
  }
  std::string ok(std::uint32_t id) {
    using namespace http2;
    return payload(test::frame(FrameType::Headers, flag::kEndHeaders | flag::kEndStream, id,
                               resp.block({{":status", "200"}})));
  }
};

TEST(Pipeline, Http2StreamResponseTimeout) {
  H2Peers h2;
  auto get = [&](std::uint32_t id, const char* path) { return h2.get(id, path); };
  auto ok = [&](std::uint32_t id) { return h2.ok(id); };
  Replay run([](Config& c) { c.reassembly.response_timeout_s = 2; });
  Tcp tcp;
  tcp.server_port = 7000;
  tcp.handshake(run);
  run.send(tcp.server(kPA, H2Peers::payload(http2::test::settings({}))));
  run.send(tcp.client(kPA, h2.preface() + get(1, "/stuck")));
  // Other streams every 0.5 s, answered at once: the connection never goes quiet.
  std::uint32_t id = 3;
  for (int i = 0; i < 5; ++i, id += 2) {
    tcp.t += 500'000;
    run.send(tcp.client(kPA, get(id, "/fast")));
    run.send(tcp.server(kPA, ok(id)));
  }
  auto recs = run.records();
  ASSERT_EQ(recs.size(), 6u);  // five fast ones, and /stuck at the first packet after 2 s
  EXPECT_EQ(str(recs[3], "request.path"), "/stuck");
  EXPECT_EQ(str(recs[3], "outcome"), "timeout");
  EXPECT_EQ(str(recs[3], "error_type"), "backend_unavailable");
  EXPECT_EQ(str(recs[3], "response"), "<null>");
  EXPECT_EQ(str(recs[4], "request.path"), "/fast");
  EXPECT_EQ(str(recs[5], "request.path"), "/fast");
  run.send(tcp.server(kPA, ok(1)));  // too late: counted, no record
  EXPECT_EQ(run.records().size(), 6u);
  // Then the connection goes quiet with a stream open: the sweep times it out.
  run.send(tcp.client(kPA, get(id, "/quiet")));
  Tcp other;
  other.client_port = 40001;
  other.t = tcp.t + 5'000'000;
  run.send(other.client(f::kSyn));
  recs = run.records();
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(str(recs[6], "request.path"), "/quiet");
  EXPECT_EQ(str(recs[6], "outcome"), "timeout");
  run.finish();
  EXPECT_EQ(run.records().size(), 7u);
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.late_responses, 1u);
  EXPECT_EQ(c.http2.streams, 7u);
}

// HTTP/2 state is in the memory budget: the session in the http pool, open streams in
// the exchanges pool; all of it given back when the connection ends.
TEST(Pipeline, Http2SessionIsAccountedInTheMemoryBudget) {
  H2Peers h2;
  MemoryBudget budget(64 << 20);
  Replay run([&](Config& c) { c.memory = &budget; });
  Tcp tcp;
  tcp.server_port = 7000;
  tcp.handshake(run);
  run.send(tcp.client(kPA, h2.preface()));
  const auto idle = run.counters().worker.memory;
  run.send(tcp.client(kPA, h2.get(1, "/a")));
  const auto open = run.counters().worker.memory;
  // Two HPACK inflaters and the session beside the HTTP/1.x parsers' state.
  EXPECT_GT(open[MemoryPool::Http], 2000 + 2 * 1024);
  EXPECT_GT(open[MemoryPool::Exchanges], idle[MemoryPool::Exchanges] + 500);  // stream 1
  tcp.close(run);
  const auto closed = run.counters().worker.memory;
  EXPECT_EQ(closed[MemoryPool::Http], 0);
  EXPECT_EQ(closed[MemoryPool::Exchanges], 0);
  run.finish();
}

// A WebSocket 101 stays a tunnel: counted, not parsed, no HTTP/2.
TEST(Pipeline, WebSocketUpgradeIsNotHttp2) {
  Replay run;
  connection(run, 40000, 80,
             {{true, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
              {false, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"},
              {true, "\x81\x82" "abcdef"}});
  run.finish();
  ASSERT_EQ(run.records().size(), 1u);
  const auto c = run.counters().worker.connections;
  EXPECT_EQ(c.http2.connections, 0u);
  EXPECT_EQ(c.parser.tunnel_bytes, 4u + 8u);
}

}  // namespace
}  // namespace offpath
