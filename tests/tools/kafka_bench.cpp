// kafka_bench: publish throughput of 1 KB records into librdkafka's mock cluster, through
// offpath's Kafka sink and, as the ceiling, through a plain librdkafka produce loop with
// the same properties. Prints the median of several runs. Not a test: numbers only.
//
//   kafka_bench [--messages N] [--size BYTES] [--runs R] [--writers W]
//
// Each run gets a fresh mock cluster (it keeps every message in memory), in this process.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "output/kafka_sink.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Mock {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  Mock() {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", errstr);
      std::exit(1);
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == nullptr) {
      std::fprintf(stderr, "%s\n", errstr);
      std::exit(1);
    }
    mc = rd_kafka_mock_cluster_new(rk, 1);
    if (mc == nullptr || rd_kafka_mock_topic_create(mc, "bench", 4, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "mock cluster failed\n");
      std::exit(1);
    }
  }
  ~Mock() {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc); }
};

// A JSON-looking record of `size` bytes that differs from one message to the next.
std::string payload(int i, std::size_t size) {
  std::string p = "{\"ts\":\"2026-01-01T00:00:" + std::to_string(i % 60) + "Z\",\"seq\":" +
                  std::to_string(i) + ",\"request\":{\"method\":\"GET\",\"uri\":\"/api/v1/items/" +
                  std::to_string(i * 7919 % 100003) + "\"},\"response\":{\"status\":" +
                  std::to_string(200 + i % 5 * 100) + "},\"body\":\"";
  unsigned x = static_cast<unsigned>(i) * 2654435761u;
  while (p.size() + 2 < size) {
    x = x * 1103515245u + 12345u;
    p.push_back(static_cast<char>('a' + (x >> 16) % 26));
  }
  p += "\"}";
  p.resize(size, '}');
  return p;
}

double raw_run(int n, std::size_t size) {
  Mock mock;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", errstr);
      std::exit(1);
    }
  };
  for (const auto& [k, v] : offpath::default_kafka_properties()) set(k, v);
  set("bootstrap.servers", mock.bootstrap());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "%s\n", errstr);
    std::exit(1);
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, "bench", nullptr);
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) payloads.push_back(payload(i, size));
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string& p = payloads[static_cast<std::size_t>(i % 1000)];
    std::string key = "10.0.0." + std::to_string(i % 200) + ":40000-10.1.0.1:80";
    for (;;) {
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                           const_cast<char*>(p.data()), p.size(), key.data(), key.size(),
                           nullptr) == 0) {
        break;
      }
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        std::exit(1);
      }
      rd_kafka_poll(rk, 1);  // the ceiling may wait; offpath's sink never does
    }
    rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) std::fprintf(stderr, "flush timed out\n");
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return secs;
}

struct Run {
  double secs = 0;
  double delivered = 0;
  double dropped = 0;
  double spooled = 0;
};

Run sink_run(int n, std::size_t size, int writers, const std::string& spool_dir) {
  Mock mock;
  offpath::KafkaOptions o;
  o.brokers = mock.bootstrap();
  o.topic = "bench";
  o.spool_dir = spool_dir;
  o.spool_max_mb = 4096;
  o.exit_on_broker_error = true;  // wait for the brokers: measure sending, not start-up
  auto sink = offpath::make_kafka_sink(o, offpath::PublishMode::All);
  if (!sink) {
    std::fprintf(stderr, "%s\n", sink.error().message.c_str());
    std::exit(1);
  }
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) payloads.push_back(payload(i, size));
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = w; i < n; i += writers) {
        std::string key = "10.0.0." + std::to_string(i % 200) + ":40000-10.1.0.1:80";
        offpath::OutputRecord r;
        r.payload = payloads[static_cast<std::size_t>(i % 1000)];
        r.key = key;
        r.outcome = "complete";
        r.schema = "offpath/1";
        r.ts = offpath::Timestamp{1'700'000'000'000'000 + i};
        (*sink)->write(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  bool ok = (*sink)->flush(std::chrono::seconds(120));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto stats = *offpath::kafka_sink_stats(**sink);
  if (!ok || stats.delivered + stats.dropped != static_cast<std::uint64_t>(n)) {
    std::fprintf(stderr, "sink lost track: %s\n", offpath::format_kafka_stats(stats).c_str());
  }
  return {secs, static_cast<double>(stats.delivered), static_cast<double>(stats.dropped),
          static_cast<double>(stats.spooled)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Delivered messages per second (median over runs), with drops and spill-overs if any.
void report(const char* name, const std::vector<Run>& runs, int n, std::size_t size) {
  std::vector<double> rate, dropped, spooled;
  for (const Run& r : runs) {
    rate.push_back(r.delivered / r.secs);
    dropped.push_back(r.dropped);
    spooled.push_back(r.spooled);
  }
  double mps = median(rate);
  std::printf("%-26s %9.0f msg/s %7.1f MB/s delivered (median of %zu runs, %d x %zu B)", name,
              mps, mps * static_cast<double>(size) / 1e6, runs.size(), n, size);
  if (median(spooled) > 0) std::printf(", %.0f through the spool", median(spooled));
  if (median(dropped) > 0) std::printf(", %.0f dropped (queue full, no spool)", median(dropped));
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200000;
  std::size_t size = 1024;
  int runs = 3;
  int writers = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--messages") n = std::atoi(argv[i + 1]);
    else if (a == "--size") size = static_cast<std::size_t>(std::atoi(argv[i + 1]));
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
    else if (a == "--writers") writers = std::atoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/offpath-kafka-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  std::string dir = tmpl;

  std::vector<Run> raw, sink, spooled;
  for (int r = 0; r < runs; ++r) {
    raw.push_back({raw_run(n, size), static_cast<double>(n), 0, 0});
    sink.push_back(sink_run(n, size, writers, ""));
    spooled.push_back(sink_run(n, size, writers, dir + "/spool" + std::to_string(r)));
  }
  report("librdkafka produce loop", raw, n, size);
  report("offpath sink", sink, n, size);
  report("offpath sink + spool", spooled, n, size);
  std::filesystem::remove_all(dir);
  return 0;
}
