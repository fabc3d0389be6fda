// The Prometheus text writer, the warning rate limit, snapshot slots, the rendering of
// pipeline counters and the /metrics + /healthz server on a loopback socket, also under
// a thousand idle connections.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

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

TEST(PipelineMetrics, EncapsulationsAndIpFragments) {
  MetricsInputs in;
  in.pipeline.encap[static_cast<std::size_t>(EncapKind::Vxlan)] = 22;
  in.pipeline.fragments.fragments = 39;
  in.pipeline.fragments.reassembled = 9;
  in.pipeline.fragments.overlaps = 1;
  in.pipeline.fragments.timed_out = 2;
  in.pipeline.fragments.dropped = 3;
  in.pipeline.fragments.atomic = 4;
  in.pipeline.fragments_pending = 5;
  const std::string t = "\n" + render_metrics(in);
  EXPECT_EQ(value_of(t, "offpath_decode_encapsulations_total{kind=\"vxlan\"}"), "22");
  EXPECT_EQ(value_of(t, "offpath_decode_encapsulations_total{kind=\"gre\"}"), "0");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_fragments_total"), "39");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_reassembled_total"), "9");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_fragment_overlaps_total"), "1");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_fragments_lost_total{reason=\"timed_out\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_fragments_lost_total{reason=\"dropped\"}"), "3");
  EXPECT_EQ(value_of(t, "offpath_decode_ip_fragments_pending"), "5");
  EXPECT_EQ(value_of(t, "offpath_decode_ipv6_atomic_fragments_total"), "4");
  EXPECT_EQ(value_of(t, "offpath_decode_skipped_total{reason=\"inner_port_filtered\"}"), "0");
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
  in.pipeline.worker.connections.not_http_connections = 11;
  in.pipeline.worker.connections.not_http_bytes = 12345;
  in.pipeline.output.by_outcome[static_cast<std::size_t>(Outcome::ConnectionReset)] = 1;
  in.pipeline.output.by_error[static_cast<std::size_t>(ErrorType::ServerError)] = 2;
  in.pipeline.output.latency_buckets[0] = 1;       // <= 1 ms
  in.pipeline.output.latency_buckets.back() = 1;   // > 30 s
  in.pipeline.output.latency_sum_ms = 40000.5;
  in.sink.spooled = 6;
  in.sink.coverage_written = 4;
  in.sink.coverage_delivered = 3;
  in.sink.coverage_failed = 1;
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
  EXPECT_EQ(value_of(t, "offpath_http_not_http_connections_total"), "11");
  EXPECT_EQ(value_of(t, "offpath_http_not_http_bytes_total"), "12345");
  EXPECT_EQ(value_of(t, "offpath_exchange_outcome_total{reason=\"connection_reset\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_error_total{reason=\"server_error\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"0.001\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"30\"}"), "1");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_bucket{le=\"+Inf\"}"), "2");
  EXPECT_EQ(value_of(t, "offpath_exchange_latency_seconds_count"), "2");
  EXPECT_EQ(value_of(t, "offpath_output_spooled_total"), "6");
  EXPECT_EQ(value_of(t, "offpath_coverage_records_total"), "4");
  EXPECT_EQ(value_of(t, "offpath_coverage_delivered_total"), "3");
  EXPECT_EQ(value_of(t, "offpath_coverage_failed_total"), "1");
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

int connect_to(const std::string& bound) {
  const auto colon = bound.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(bound.substr(colon + 1))));
  ::inet_pton(AF_INET, bound.substr(0, colon).c_str(), &a.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` and reads until the server closes, at most `limit` long; "" when no
// connection or nothing came back in time.
std::string http_exchange(const std::string& bound, const std::string& request,
                          std::chrono::milliseconds limit = std::chrono::seconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int fd = connect_to(bound);
  if (fd < 0) return "";
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string http_get(const std::string& bound, const std::string& path) {
  return http_exchange(bound, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
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
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 13\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n\r\noffpath_up 1\n"), std::string::npos);
  EXPECT_EQ(http_get(bound, "/healthz").rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(http_get(bound, "/other").rfind("HTTP/1.1 404", 0), 0u);
  // HTTP/1.0 clients (older probes) are answered too.
  EXPECT_NE(http_exchange(bound, "GET /healthz HTTP/1.0\r\n\r\n").find(" 503 "), std::string::npos);
  EXPECT_EQ(scrapes, 1);
  // A second server on the same port is an error naming --metrics.
  auto clash = MetricsServer::start(bound, [](std::string_view) { return HttpAnswer{}; });
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message.find("--metrics"), std::string::npos);
  EXPECT_FALSE(MetricsServer::start("not-an-ip:1", [](std::string_view) { return HttpAnswer{}; }));
  EXPECT_FALSE(MetricsServer::start("127.0.0.1:http", [](std::string_view) { return HttpAnswer{}; }));
  EXPECT_FALSE(MetricsServer::start("127.0.0.1:70000", [](std::string_view) { return HttpAnswer{}; }));
}

TEST(MetricsServer, RefusesWhatIsNotAPlainGet) {
  int calls = 0;
  auto server = MetricsServer::start("127.0.0.1:0", [&calls](std::string_view) {
    ++calls;
    return HttpAnswer{200, "text/plain", "ok\n"};
  });
  ASSERT_TRUE(server) << server.error().message;
  const std::string bound = (*server)->bound();
  const std::string post = http_exchange(bound, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos) << post;
  // A body is refused before it is read.
  EXPECT_EQ(http_exchange(bound, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                .rfind("HTTP/1.1 413", 0),
            0u);
  EXPECT_EQ(http_exchange(bound, "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                .rfind("HTTP/1.1 413", 0),
            0u);
  // Headers larger than a connection's memory: an error status, the handler not called.
  const std::string big = http_exchange(
      bound, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                 std::string(MetricsServer::kConnectionMemory, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.rfind("HTTP/1.1 4", 0), 0u) << big.substr(0, 100);
  EXPECT_EQ(calls, 0);
  // HEAD: the headers alone.
  const std::string head = http_exchange(bound, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;
  EXPECT_EQ(calls, 1);
  // Still serving after all that.
  EXPECT_EQ(http_get(bound, "/healthz").rfind("HTTP/1.1 200", 0), 0u);
}

// Raises this process's soft limit on open files to `want` if it is lower (and the hard
// limit allows); false when it cannot.
bool have_open_files(rlim_t want) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) return false;
    lim.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  }
  return true;
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A thousand idle connections and a few slow ones (a partial request line, a byte at a
// time) do not keep /healthz and /metrics from answering; the idle ones are closed after
// the idle timeout.
TEST(MetricsServer, AnswersUnderAThousandIdleConnections) {
  constexpr int kIdle = 1000;
  constexpr int kSlow = 20;
  // Both ends of every connection live in this process.
  ASSERT_TRUE(have_open_files(2 * (kIdle + kSlow) + 256));
  auto server = MetricsServer::start("127.0.0.1:0", [](std::string_view path) {
    if (path == "/metrics") return HttpAnswer{200, "text/plain; version=0.0.4", "offpath_up 1\n"};
    if (path == "/healthz") return HttpAnswer{200, "text/plain", "ok\n"};
    return HttpAnswer{404, "text/plain", "no\n"};
  });
  ASSERT_TRUE(server) << server.error().message;
  const std::string bound = (*server)->bound();
  ASSERT_GE((*server)->connection_limit(), static_cast<unsigned>(kIdle + kSlow + 2));

  std::vector<int> idle;
  std::vector<int> slow;
  for (int i = 0; i < kIdle; ++i) {
    const int fd = connect_to(bound);
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  for (int i = 0; i < kSlow; ++i) {
    const int fd = connect_to(bound);
    ASSERT_GE(fd, 0);
    slow.push_back(fd);
  }
  // The server holds them all at once, not the kernel's accept queue.
  EXPECT_TRUE(wait_until([&] { return (*server)->connections_for_test() >= kIdle + kSlow; },
                         std::chrono::seconds(5)))
      << (*server)->connections_for_test();
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string line = "GET /metrics HTTP/1.1\r\nHost: x\r\n";  // never finished
    for (std::size_t i = 0; i < line.size() && !stop.load(); ++i) {
      for (int fd : slow) (void)!::send(fd, &line[i], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  for (const char* path : {"/healthz", "/metrics", "/healthz"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string r = http_get(bound, path);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s with %d idle and %d slow connections open: %.2f ms\n", path, kIdle, kSlow, ms);
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << path << ": " << r;
    EXPECT_LT(ms, 2000.0) << path;
  }
  stop = true;
  trickle.join();
  // The idle timeout closes every idle connection from the server side.
  EXPECT_TRUE(wait_until([&] { return (*server)->connections_for_test() == 0; },
                         std::chrono::seconds(MetricsServer::kIdleTimeoutS + 5)))
      << (*server)->connections_for_test();
  pollfd p{idle.front(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  char byte;
  EXPECT_EQ(::read(idle.front(), &byte, 1), 0);  // EOF
  for (int fd : idle) ::close(fd);
  for (int fd : slow) ::close(fd);
}

}  // namespace
}  // namespace offpath
