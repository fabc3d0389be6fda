// The Prometheus text writer, the warning rate limit, snapshot slots, the rendering of
// pipeline counters and the /metrics + /healthz server on a loopback socket.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "metrics/http_server.hpp"
#include "metrics/pipeline_metrics.hpp"
#include "metrics/prometheus_text.hpp"
#include "metrics/rate_limit.hpp"
#include "metrics/snapshot.hpp"

namespace offpath {
namespace {

TEST(MetricsText, FamiliesAndEscapedLabels) {
  MetricsText m;
  m.family("offpath_x_total", "counter", "Things.");
  m.sample("offpath_x_total", std::uint64_t{3}, {{"reason", "a\"b\\c\nd"}});
  EXPECT_EQ(m.text(),
            "# HELP offpath_x_total Things.\n# TYPE offpath_x_total counter\n"
            "offpath_x_total{reason=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(RateLimit, OnePerIntervalAndCountsTheRest) {
  using namespace std::chrono;
  RateLimit limit(seconds(10), 1);
  const auto t0 = RateLimit::Clock::time_point{} + hours(1);
  EXPECT_TRUE(limit.allow(t0));
  EXPECT_EQ(limit.suppressed(), 0u);
  EXPECT_FALSE(limit.allow(t0 + seconds(1)));
  EXPECT_FALSE(limit.allow(t0 + seconds(9)));
  EXPECT_TRUE(limit.allow(t0 + seconds(10)));
  EXPECT_EQ(limit.suppressed(), 2u);
  EXPECT_FALSE(limit.allow(t0 + seconds(11)));
}

TEST(SnapshotSlot, EmptyUntilPublished) {
  SnapshotSlot<int> slot;
  int v = -1;
  EXPECT_FALSE(slot.read(v));
  slot.try_publish(5);
  EXPECT_TRUE(slot.read(v));
  EXPECT_EQ(v, 5);
  slot.publish(6);
  EXPECT_TRUE(slot.read(v));
  EXPECT_EQ(v, 6);
}

std::string value_of(const std::string& text, const std::string& sample) {
  auto pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return "";
  pos += sample.size() + 2;
  return text.substr(pos, text.find('\n', pos) - pos);
}

TEST(PipelineMetrics, NamesAndValues) {
  MetricsInputs in;
  in.source.frames = 10;
  in.source.kernel_drops = 2;
  in.pipeline.decode[0] = 9;
  in.pipeline.decode[static_cast<std::size_t>(DecodeOutcome::NotTcp)] = 1;
  in.pipeline.active_flows = 4;
  in.pipeline.worker.flows_evicted = 5;
  in.pipeline.worker.flows_evicted_for_memory = 2;
  in.pipeline.output.exchanges = 3;
  in.pipeline.output.by_outcome[static_cast<std::size_t>(Outcome::ConnectionReset)] = 1;
  in.pipeline.output.by_error[static_cast<std::size_t>(ErrorType::ServerError)] = 2;
  in.pipeline.output.latency_buckets[0] = 1;       // <= 1 ms
  in.pipeline.output.latency_buckets.back() = 1;   // > 30 s
  in.pipeline.output.latency_sum_ms = 40000.5;
  in.sink.spooled = 6;
  KafkaSinkStats k;
  k.delivered = 7;
  k.dropped_by_reason = {{"spool_full", 1}};
  in.kafka = k;
  const std::string t = "\n" + render_metrics(in);
  EXPECT_EQ(value_of(t, "offpath_capture_packets_total"), "10");
  EXPECT_EQ(value_of(t, "offpath_capture_kernel_drops_total"), "2");
  EXPECT_EQ(value_of(t, "offpath_decode_tcp_segments_total"), "9");
  EXPECT_EQ(value_of(t, "offpath_decode_skipped_total{reason=\"not_tcp\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_flow_active"), "4");
  EXPECT_EQ(value_of(t, "offpath_flow_evicted_total{reason=\"max_flows\"}"), "3");
  EXPECT_EQ(value_of(t, "offpath_flow_evicted_total{reason=\"memory\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_exchange_exchanges_total"), "3");
  EXPECT_EQ(value_of(t, "offpath_exchange_outcome_total{reason=\"connection_reset\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_error_total{reason=\"server_error\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"0.001\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"30\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"+Inf\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_count"), "2");
  EXPECT_EQ(value_of(t, "offpath_output_spooled_total"), "6");
  EXPECT_EQ(value_of(t, "offpath_kafka_delivered_total"), "7");
  EXPECT_EQ(value_of(t, "offpath_kafka_dropped_total{reason=\"spool_full\"}"), "1");
  // Every sample belongs to a family declared with HELP and TYPE.
  std::size_t pos = 0;
  while ((pos = t.find('\n', pos)) != std::string::npos) {
    ++pos;
    if (pos >= t.size() || t[pos] == '#') continue;
    std::string name = t.substr(pos, t.find_first_of("{ ", pos) - pos);
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          t.find("# TYPE " + name + " ") == std::string::npos) {
        name.resize(name.size() - s.size());
      }
    }
    EXPECT_NE(t.find("# TYPE " + name + " "), std::string::npos) << name;
    EXPECT_EQ(name.rfind("offpath_", 0), 0u) << name;
  }
}

TEST(PipelineMetrics, MemoryBudgetAndShedding) {
  MetricsInputs in;
  in.pipeline.memory.limit = 512u << 20;
  in.pipeline.memory.level = 3;
  in.pipeline.memory.level_changes = 5;
  in.pipeline.worker.memory[MemoryPool::Flows] = 1000;
  in.pipeline.output.memory[MemoryPool::Output] = 64;
  in.pipeline.memory.reserved[MemoryPool::Output] = 36;
  in.pipeline.worker.flows_evicted = 9;
  in.pipeline.worker.flows_evicted_for_memory = 2;
  in.pipeline.worker.flows_evicted_for_budget = 4;
  in.pipeline.worker.flows_refused = 7;
  in.pipeline.worker.connections.parser.bodies_not_kept = 11;
  in.pipeline.output.successes_not_encoded = 13;
  in.pipeline.output.degraded = 17;
  const std::string t = "\n" + render_metrics(in);
  EXPECT_EQ(value_of(t, "offpath_memory_limit_bytes"), "536870912");
  EXPECT_EQ(value_of(t, "offpath_memory_bytes{pool=\"flows\"}"), "1000");
  EXPECT_EQ(value_of(t, "offpath_memory_bytes{pool=\"output\"}"), "100");
  EXPECT_EQ(value_of(t, "offpath_memory_bytes{pool=\"out_of_order\"}"), "0");
  EXPECT_EQ(value_of(t, "offpath_shedding_level"), "3");
  EXPECT_EQ(value_of(t, "offpath_shedding_level_changes_total"), "5");
  EXPECT_EQ(value_of(t, "offpath_flow_evicted_total{reason=\"max_flows\"}"), "3");
  EXPECT_EQ(value_of(t, "offpath_flow_evicted_total{reason=\"budget\"}"), "4");
  EXPECT_EQ(value_of(t, "offpath_shed_total{reason=\"bodies_not_kept\"}"), "11");
  EXPECT_EQ(value_of(t, "offpath_shed_total{reason=\"successes_not_encoded\"}"), "13");
  EXPECT_EQ(value_of(t, "offpath_shed_total{reason=\"flows_evicted\"}"), "4");
  EXPECT_EQ(value_of(t, "offpath_shed_total{reason=\"flows_refused\"}"), "7");
  EXPECT_EQ(value_of(t, "offpath_exchange_degraded_total"), "17");
}

std::string http_get(const std::string& bound, const std::string& path) {
  const auto colon = bound.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(bound.substr(colon + 1))));
  ::inet_pton(AF_INET, bound.substr(0, colon).c_str(), &a.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(MetricsServer, ServesMetricsAndHealth) {
  int scrapes = 0;
  auto server = MetricsServer::start("127.0.0.1:0", [&scrapes](std::string_view path) {
    if (path == "/metrics") {
      ++scrapes;
      return HttpAnswer{200, "text/plain; version=0.0.4", "offpath_up 1\n"};
    }
    if (path == "/healthz") return HttpAnswer{503, "text/plain", "not capturing\n"};
    return HttpAnswer{404, "text/plain", "no\n"};
  });
  ASSERT_TRUE(server) << server.error().message;
  const std::string bound = (*server)->bound();
  ASSERT_EQ(bound.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(bound, "127.0.0.1:0");
  std::string r = http_get(bound, "/metrics?x=1");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 13\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\n\r\noffpath_up 1\n"), std::string::npos);
  EXPECT_EQ(http_get(bound, "/healthz").rfind("HTTP/1.0 503", 0), 0u);
  EXPECT_EQ(http_get(bound, "/other").rfind("HTTP/1.0 404", 0), 0u);
  EXPECT_EQ(scrapes, 1);
  // A second server on the same port is an error naming --metrics.
  auto clash = MetricsServer::start(bound, [](std::string_view) { return HttpAnswer{}; });
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find("--metrics"), std::string::npos);
  EXPECT_FALSE(MetricsServer::start("not-an-ip:1", [](std::string_view) { return HttpAnswer{}; }));
}

}  // namespace
}  // namespace offpath
