// Kafka sink against librdkafka's mock cluster: every message arrives exactly once with
// its key, headers, timestamp and payload; broker outages, injected errors, a full
// librdkafka queue and restarts lose nothing and duplicate nothing; a full spool drops
// exactly what its counter says.
#include "output/kafka_sink.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "unit/output/kafka_test_util.hpp"

namespace offpath {
namespace {

using namespace std::chrono_literals;
using testing::Consumed;
using testing::MockCluster;
using testing::consume_all;
using testing::wait_until;

constexpr const char* kTopic = "exchanges";
constexpr const char* kFailedTopic = "failed";

struct Rec {
  std::string payload;
  std::string key;
  std::string outcome;
  std::int64_t ts_micros;
  bool failed;
};

// Record i: a small JSON-ish payload, one of 7 connections as key, every 5th failed.
Rec make_rec(int i, std::size_t pad = 0) {
  Rec r;
  r.key = "10.0.0." + std::to_string(i % 7) + ":4000" + std::to_string(i % 7) + "-10.1.0.1:80";
  r.failed = i % 5 == 0;
  r.outcome = r.failed ? "connection_reset" : "complete";
  r.payload = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"" + std::string(pad, 'p') + "\"}";
  r.ts_micros = 1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 1000 + 7;
  return r;
}

void write(Sink& sink, const Rec& r) {
  OutputRecord out;
  out.payload = r.payload;
  out.key = r.key;
  out.outcome = r.outcome;
  out.schema = "offpath/1";
  out.ts = Timestamp{r.ts_micros};
  out.failed = r.failed;
  sink.write(out);
}

int seq_of(const std::string& payload) {
  return std::stoi(payload.substr(payload.find(':') + 1));
}

void expect_balanced(const KafkaSinkStats& s) {
  EXPECT_EQ(s.messages + s.recovered,
            s.delivered + s.failed + s.dropped + s.spool_pending + s.in_flight)
      << format_kafka_stats(s);
}

// Every seq in [0, n) exactly once, in seq order within each key.
void expect_exactly_once_in_key_order(const std::vector<Consumed>& got, int n) {
  std::map<int, int> seen;
  std::map<std::string, int> last_per_key;
  for (const Consumed& c : got) {
    int seq = seq_of(c.payload);
    ++seen[seq];
    ASSERT_TRUE(c.key.has_value());
    auto [it, inserted] = last_per_key.try_emplace(*c.key, seq);
    if (!inserted) {
      EXPECT_LT(it->second, seq) << "order broken for key " << *c.key;
      it->second = seq;
    }
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "seq " << i;
}

// Every seq in [0, n) at least once, first occurrences in seq order within each key, and
// every extra copy one of an earlier seq. For outages that cut a produce request in
// flight: librdkafka then retries the batch with the same idempotent sequence numbers,
// which a real broker recognises as a duplicate, but librdkafka 2.0's mock cluster does
// not check them and appends the batch again. offpath's own count must still be exact
// (the caller checks delivered == n).
void expect_all_in_key_order_allowing_broker_retries(const std::vector<Consumed>& got, int n) {
  std::map<int, int> seen;
  std::map<std::string, int> last_per_key;
  for (const Consumed& c : got) {
    int seq = seq_of(c.payload);
    ASSERT_TRUE(c.key.has_value());
    if (seen[seq]++ > 0) continue;  // a broker-side copy of a retried batch
    auto [it, inserted] = last_per_key.try_emplace(*c.key, seq);
    if (!inserted) {
      EXPECT_LT(it->second, seq) << "order broken for key " << *c.key;
      it->second = seq;
    }
  }
  for (int i = 0; i < n; ++i) EXPECT_GE(seen[i], 1) << "seq " << i << " missing";
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n)) << "unexpected seq values";
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/offpath-kafka-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  KafkaOptions options(const MockCluster& mock, bool spool = true) const {
    KafkaOptions o;
    o.brokers = mock.bootstrap();
    o.topic = kTopic;
    if (spool) o.spool_dir = dir_ + "/spool";
    o.properties = {{"log_level", "3"}};
    return o;
  }

  std::unique_ptr<Sink> make(const KafkaOptions& o) {
    auto sink = make_kafka_sink(o, PublishMode::All);
    EXPECT_TRUE(sink.ok()) << (sink.ok() ? "" : sink.error().message);
    return sink.ok() ? std::move(*sink) : nullptr;
  }

  static KafkaSinkStats stats(const Sink& sink) { return *kafka_sink_stats(sink); }

  std::string dir_;
};

TEST_F(KafkaSinkTest, EveryRecordArrivesOnceWithKeyHeadersTimestamp) {
  MockCluster mock;
  mock.create_topic(kTopic, 4);
  mock.create_topic(kFailedTopic, 2);
  for (bool spool : {false, true}) {
    SCOPED_TRACE(spool ? "with spool" : "without spool");
    std::string topic = std::string(kTopic) + (spool ? "-s" : "-d");
    std::string failed_topic = std::string(kFailedTopic) + (spool ? "-s" : "-d");
    mock.create_topic(topic, 4);
    mock.create_topic(failed_topic, 2);
    KafkaOptions o = options(mock, spool);
    o.topic = topic;
    o.failed_topic = failed_topic;
    auto sink = make(o);
    ASSERT_NE(sink, nullptr);
    constexpr int kN = 300;
    for (int i = 0; i < kN; ++i) write(*sink, make_rec(i));
    ASSERT_TRUE(sink->flush(15s));
    KafkaSinkStats s = stats(*sink);
    EXPECT_EQ(s.records, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.messages, static_cast<std::uint64_t>(kN + kN / 5));
    EXPECT_EQ(s.delivered, s.messages);
    EXPECT_EQ(s.failed + s.dropped + s.spool_pending + s.in_flight, 0u);
    expect_balanced(s);
    EXPECT_EQ(sink->stats().written, s.messages);
    EXPECT_EQ(sink->stats().delivered, s.messages);

    auto got = consume_all(mock.bootstrap(), topic);
    expect_exactly_once_in_key_order(got, kN);
    std::map<std::string, std::set<int>> partitions_per_key;
    for (const Consumed& c : got) {
      Rec r = make_rec(seq_of(c.payload));
      EXPECT_EQ(c.payload, r.payload);
      EXPECT_EQ(c.key, r.key);
      EXPECT_EQ(c.timestamp_ms, r.ts_micros / 1000);
      EXPECT_EQ(c.headers.at("content-type"), "application/json");
      EXPECT_EQ(c.headers.at("schema-version"), "offpath/1");
      EXPECT_EQ(c.headers.at("outcome"), r.outcome);
      EXPECT_EQ(c.headers.size(), 3u);
      partitions_per_key[*c.key].insert(c.partition);
    }
    for (const auto& [key, parts] : partitions_per_key) EXPECT_EQ(parts.size(), 1u) << key;

    auto failed = consume_all(mock.bootstrap(), failed_topic);
    ASSERT_EQ(failed.size(), static_cast<std::size_t>(kN / 5));
    for (const Consumed& c : failed) EXPECT_EQ(seq_of(c.payload) % 5, 0);
  }
}

TEST_F(KafkaSinkTest, EmptyKeyIsNullKey) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  auto sink = make(options(mock, false));
  ASSERT_NE(sink, nullptr);
  OutputRecord r;
  r.payload = "{}";
  r.outcome = "complete";
  sink->write(r);
  ASSERT_TRUE(sink->flush(10s));
  auto got = consume_all(mock.bootstrap(), kTopic);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].key.has_value());
}

TEST_F(KafkaSinkTest, CoverageRecordsGoToTheirTopicCountedApart) {
  MockCluster mock;
  mock.create_topic(kTopic, 2);
  mock.create_topic("coverage", 1);
  KafkaOptions o = options(mock);
  o.coverage_topic = "coverage";
  auto sink = make(o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; })) << "never left the spool";
  for (int i = 0; i < 50; ++i) write(*sink, make_rec(i));
  std::uint64_t written_seen = 0;
  sink->write_coverage(Timestamp{1'700'000'060'000'000}, [&](const SinkStats& at, std::string& p) {
    written_seen = at.written;
    p = "{\"schema\":\"offpath/coverage/1\",\"sequence\":0}";
  });
  EXPECT_EQ(written_seen, 50u);  // the exchange messages before it
  mock.set_down();               // the second one waits in librdkafka, not in the spool
  for (int i = 50; i < 80; ++i) write(*sink, make_rec(i));
  sink->write_coverage(Timestamp{1'700'000'120'000'000}, [&](const SinkStats& at, std::string& p) {
    written_seen = at.written;
    p = "{\"schema\":\"offpath/coverage/1\",\"sequence\":1}";
  });
  EXPECT_EQ(written_seen, 80u);
  std::this_thread::sleep_for(500ms);
  mock.set_up();
  ASSERT_TRUE(sink->flush(20s)) << format_kafka_stats(stats(*sink));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.records, 80u);  // exchange records only
  EXPECT_EQ(s.messages, 80u);
  EXPECT_EQ(s.delivered, 80u);
  expect_balanced(s);
  EXPECT_EQ(s.coverage_records, 2u);
  EXPECT_EQ(s.coverage_delivered, 2u);
  EXPECT_EQ(s.coverage_failed, 0u);
  EXPECT_EQ(sink->stats().written, 80u);
  EXPECT_EQ(sink->stats().coverage_written, 2u);
  EXPECT_EQ(sink->stats().coverage_delivered, 2u);
  expect_all_in_key_order_allowing_broker_retries(consume_all(mock.bootstrap(), kTopic), 80);
  auto got = consume_all(mock.bootstrap(), "coverage");
  ASSERT_GE(got.size(), 2u);  // the mock may append a retried batch twice
  EXPECT_EQ(got[0].payload, "{\"schema\":\"offpath/coverage/1\",\"sequence\":0}");
  EXPECT_EQ(got.back().payload, "{\"schema\":\"offpath/coverage/1\",\"sequence\":1}");
  for (const Consumed& c : got) {
    EXPECT_FALSE(c.key.has_value());
    EXPECT_EQ(c.headers.at("record-type"), "coverage");
    EXPECT_EQ(c.headers.at("schema-version"), "offpath/coverage/1");
    EXPECT_EQ(c.headers.at("content-type"), "application/json");
  }
  EXPECT_EQ(got[0].timestamp_ms, 1'700'000'060'000);
}

TEST_F(KafkaSinkTest, CoverageRecordUnsentAtExitIsCountedFailed) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  auto sink = make(options(mock, false));
  ASSERT_NE(sink, nullptr);
  mock.set_down();
  sink->write_coverage(Timestamp{}, [](const SinkStats&, std::string& p) { p = "{}"; });
  EXPECT_FALSE(sink->flush(500ms));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.coverage_records, 1u);
  EXPECT_EQ(s.coverage_failed, 1u);
  EXPECT_EQ(s.coverage_delivered, 0u);
  EXPECT_EQ(s.messages + s.delivered + s.dropped + s.failed, 0u);  // exchange counts untouched
}

TEST_F(KafkaSinkTest, BrokerDownForAWhileLosesNothingDuplicatesNothing) {
  MockCluster mock;
  mock.create_topic(kTopic, 4);
  auto sink = make(options(mock));
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; })) << "never left the spool";
  constexpr int kN = 600;
  for (int i = 0; i < 200; ++i) write(*sink, make_rec(i));
  mock.set_down();
  for (int i = 200; i < 400; ++i) {
    write(*sink, make_rec(i));
    if (i % 20 == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(wait_until([&] { return stats(*sink).spooling; }, 5s))
      << "the outage was not noticed";
  for (int i = 400; i < kN; ++i) write(*sink, make_rec(i));
  std::this_thread::sleep_for(500ms);
  EXPECT_GT(stats(*sink).spool_pending, 0u);
  mock.set_up();
  ASSERT_TRUE(sink->flush(20s)) << format_kafka_stats(stats(*sink));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(s.failed + s.dropped + s.spool_pending + s.in_flight, 0u);
  EXPECT_GT(s.spooled, 0u);
  expect_balanced(s);
  expect_exactly_once_in_key_order(consume_all(mock.bootstrap(), kTopic), kN);
}

TEST_F(KafkaSinkTest, InjectedProduceErrorsAreRetriedWithoutDuplicates) {
  MockCluster mock;
  mock.create_topic(kTopic, 2);
  KafkaOptions o = options(mock);
  // One request in flight per connection: librdkafka's mock cluster does not check the
  // idempotent producer's sequence numbers, so with pipelined requests it accepts a batch
  // after a failed one, and librdkafka then takes the failed batch as implicitly
  // acknowledged. A real broker answers OUT_OF_ORDER_SEQUENCE_NUMBER instead.
  o.properties.emplace_back("max.in.flight.requests.per.connection", "1");
  auto sink = make(o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; }));
  mock.push_produce_errors(4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  mock.push_produce_errors(3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  mock.push_produce_errors(2, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  constexpr int kN = 400;
  for (int i = 0; i < kN; ++i) {
    write(*sink, make_rec(i));
    if (i % 50 == 0) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(sink->flush(20s)) << format_kafka_stats(stats(*sink));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(s.failed + s.dropped + s.spool_pending + s.in_flight, 0u);
  expect_balanced(s);
  expect_exactly_once_in_key_order(consume_all(mock.bootstrap(), kTopic), kN);
}

TEST_F(KafkaSinkTest, SpoolCarriesEverythingAcrossARestartInOrder) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  mock.set_down();
  constexpr int kN = 500;
  {
    auto sink = make(options(mock));
    ASSERT_NE(sink, nullptr);
    for (int i = 0; i < kN; ++i) write(*sink, make_rec(i));
    EXPECT_FALSE(sink->flush(1500ms));
    KafkaSinkStats s = stats(*sink);
    EXPECT_EQ(s.delivered, 0u);
    EXPECT_EQ(s.spool_pending, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.dropped + s.failed + s.in_flight, 0u);
    expect_balanced(s);
  }
  mock.set_up();
  {
    auto sink = make(options(mock));
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(stats(*sink).recovered, static_cast<std::uint64_t>(kN));
    ASSERT_TRUE(sink->flush(20s)) << format_kafka_stats(stats(*sink));
    KafkaSinkStats s = stats(*sink);
    EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.spool_pending + s.in_flight + s.dropped + s.failed, 0u);
    expect_balanced(s);
  }
  auto got = consume_all(mock.bootstrap(), kTopic);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(seq_of(got[static_cast<std::size_t>(i)].payload), i);
  EXPECT_EQ(got[0].headers["outcome"], "connection_reset");
  EXPECT_EQ(got[0].key, make_rec(0).key);
  EXPECT_EQ(got[0].timestamp_ms, make_rec(0).ts_micros / 1000);
}

TEST_F(KafkaSinkTest, FullSpoolDropsExactlyWhatItCounts) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  mock.set_down();
  constexpr int kN = 3000;
  std::uint64_t dropped = 0;
  {
    KafkaOptions o = options(mock);
    o.spool_max_mb = 1;
    auto sink = make(o);
    ASSERT_NE(sink, nullptr);
    for (int i = 0; i < kN; ++i) write(*sink, make_rec(i, 1000));
    EXPECT_FALSE(sink->flush(1000ms));
    KafkaSinkStats s = stats(*sink);
    dropped = s.dropped;
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(dropped, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.spool_pending + s.dropped, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.dropped_by_reason.size(), 1u);
    EXPECT_EQ(s.dropped_by_reason.at(0).first, "spool_full");
    EXPECT_LE(s.spool_bytes, 1u << 20);
    expect_balanced(s);
  }
  mock.set_up();
  {
    KafkaOptions o = options(mock);
    o.spool_max_mb = 1;
    auto sink = make(o);
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->flush(20s));
    EXPECT_EQ(stats(*sink).delivered, kN - dropped);
  }
  auto got = consume_all(mock.bootstrap(), kTopic);
  EXPECT_EQ(got.size(), kN - dropped);
  // The spool kept the oldest: what arrived is a prefix, in order.
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(seq_of(got[i].payload), static_cast<int>(i));
}

TEST_F(KafkaSinkTest, FullLibrdkafkaQueueSpillsToSpoolAndKeepsOrder) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  mock.set_rtt(30);
  KafkaOptions o = options(mock);
  o.properties.emplace_back("queue.buffering.max.messages", "20");
  auto sink = make(o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; }));
  constexpr int kN = 2000;
  for (int i = 0; i < kN; ++i) write(*sink, make_rec(i));
  EXPECT_GT(stats(*sink).spooled, 0u) << "the queue never filled up";
  ASSERT_TRUE(sink->flush(30s)) << format_kafka_stats(stats(*sink));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(s.dropped + s.failed, 0u);
  expect_balanced(s);
  auto got = consume_all(mock.bootstrap(), kTopic);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(seq_of(got[static_cast<std::size_t>(i)].payload), i);
}

TEST_F(KafkaSinkTest, WithoutSpoolUnsentMessagesAreCountedAtExit) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  mock.set_down();
  auto sink = make(options(mock, false));
  ASSERT_NE(sink, nullptr);
  for (int i = 0; i < 50; ++i) write(*sink, make_rec(i));
  EXPECT_FALSE(sink->flush(500ms));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.dropped, 50u);
  ASSERT_EQ(s.dropped_by_reason.size(), 1u);
  EXPECT_EQ(s.dropped_by_reason[0].first, "unsent_at_exit");
  EXPECT_EQ(s.in_flight, 0u);
  expect_balanced(s);
}

TEST_F(KafkaSinkTest, TooLargeMessageFailsByErrorName) {
  MockCluster mock;
  mock.create_topic(kTopic, 1);
  KafkaOptions o = options(mock);
  o.properties.emplace_back("message.max.bytes", "10000");
  auto sink = make(o);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; }));
  write(*sink, make_rec(0, 20000));
  write(*sink, make_rec(1));
  ASSERT_TRUE(sink->flush(10s));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.delivered, 1u);
  ASSERT_EQ(s.failed_by_error.size(), 1u);
  EXPECT_EQ(s.failed_by_error[0].first, "MSG_SIZE_TOO_LARGE");
  expect_balanced(s);
}

TEST_F(KafkaSinkTest, BadPropertyIsAStartupErrorNamingIt) {
  KafkaOptions o;
  o.brokers = "127.0.0.1:9";
  o.properties = {{"no.such.property", "1"}};
  auto sink = make_kafka_sink(o, PublishMode::Failed);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("no.such.property"), std::string::npos);

  o.properties = {{"enable.idempotence", "true"}, {"acks", "1"}};
  sink = make_kafka_sink(o, PublishMode::Failed);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("acks"), std::string::npos) << sink.error().message;
}

TEST_F(KafkaSinkTest, UnreachableBrokersSpoolOrExitOnRequest) {
  // Port 9 on loopback: nothing listens there.
  KafkaOptions o;
  o.brokers = "127.0.0.1:9";
  o.spool_dir = dir_ + "/spool";
  o.properties = {{"log_level", "0"}};
  {
    auto sink = make_kafka_sink(o, PublishMode::Failed);
    ASSERT_TRUE(sink.ok());
    write(**sink, make_rec(1));
    EXPECT_FALSE((*sink)->flush(300ms));
    KafkaSinkStats s = *kafka_sink_stats(**sink);
    EXPECT_EQ(s.spool_pending, 1u);
    expect_balanced(s);
  }
  o.exit_on_broker_error = true;
  auto sink = make_kafka_sink(o, PublishMode::Failed);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("127.0.0.1:9"), std::string::npos);
}

TEST_F(KafkaSinkTest, ConcurrentWritersDuringOutageKeepPerWriterOrder) {
  MockCluster mock;
  mock.create_topic(kTopic, 3);
  auto sink = make(options(mock));
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(wait_until([&] { return !stats(*sink).spooling; }));
  constexpr int kPerThread = 700;
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Rec r = make_rec(t * kPerThread + i);
        r.key = "writer-" + std::to_string(t);
        write(*sink, r);
        if (i % 100 == 0) std::this_thread::sleep_for(5ms);
      }
    });
  }
  std::this_thread::sleep_for(20ms);
  mock.set_down();
  std::this_thread::sleep_for(1200ms);
  mock.set_up();
  for (auto& w : writers) w.join();
  ASSERT_TRUE(sink->flush(20s)) << format_kafka_stats(stats(*sink));
  KafkaSinkStats s = stats(*sink);
  EXPECT_EQ(s.delivered, 3u * kPerThread);
  expect_balanced(s);
  expect_all_in_key_order_allowing_broker_retries(consume_all(mock.bootstrap(), kTopic),
                                                  3 * kPerThread);
}

}  // namespace
}  // namespace offpath
