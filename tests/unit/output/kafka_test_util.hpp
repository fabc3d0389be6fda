// Test helpers for the Kafka sink: an in-process librdkafka mock cluster (a real
// Kafka-protocol server on 127.0.0.1) and a plain librdkafka consumer that reads a topic
// back from the beginning to its end. Used from the test's main thread only.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace offpath::testing {

class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(errstr);
    }
    mcluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (mcluster_ == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    brokers_ = brokers;
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(mcluster_);
    rd_kafka_destroy(rk_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mcluster_); }
  void create_topic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(mcluster_, name.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void set_down() {
    for (int id = 1; id <= brokers_; ++id) {
      ASSERT_EQ(rd_kafka_mock_broker_set_down(mcluster_, id), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  void set_up() {
    for (int id = 1; id <= brokers_; ++id) {
      ASSERT_EQ(rd_kafka_mock_broker_set_up(mcluster_, id), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  void set_rtt(int ms) {
    for (int id = 1; id <= brokers_; ++id) {
      ASSERT_EQ(rd_kafka_mock_broker_set_rtt(mcluster_, id, ms), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  // The next `n` Produce requests fail with `err`.
  void push_produce_errors(std::size_t n, rd_kafka_resp_err_t err) {
    std::vector<rd_kafka_resp_err_t> errors(n, err);
    rd_kafka_mock_push_request_errors_array(mcluster_, 0 /* Produce */, n, errors.data());
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  int brokers_ = 1;
};

struct Consumed {
  int partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::string payload;
  std::int64_t timestamp_ms = 0;
  std::map<std::string, std::string> headers;
};

// Reads every partition of `topic` from the beginning up to its end (as of the read).
inline std::vector<Consumed> consume_all(const std::string& bootstrap, const std::string& topic,
                                         std::chrono::milliseconds timeout =
                                             std::chrono::seconds(15)) {
  std::vector<Consumed> out;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << errstr;
    }
  };
  set("bootstrap.servers", bootstrap.c_str());
  set("group.id", "offpath-test-reader");
  set("enable.partition.eof", "true");
  set("enable.auto.commit", "false");
  set("log_level", "2");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    ADD_FAILURE() << errstr;
    return out;
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int partitions = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  EXPECT_GT(partitions, 0) << "no metadata for topic " << topic;

  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);

  int eof = 0;
  auto until = std::chrono::steady_clock::now() + timeout;
  while (eof < partitions && std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++eof;
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ADD_FAILURE() << "consumer: " << rd_kafka_message_errstr(m);
    } else {
      Consumed c;
      c.partition = m->partition;
      c.offset = m->offset;
      if (m->key != nullptr) c.key = std::string(static_cast<const char*>(m->key), m->key_len);
      c.payload.assign(static_cast<const char*>(m->payload), m->len);
      c.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        std::size_t size = 0;
        for (std::size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          c.headers[name] = value ? std::string(static_cast<const char*>(value), size) : "";
        }
      }
      out.push_back(std::move(c));
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(eof, partitions) << "did not reach the end of every partition of " << topic;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// Polls `pred` every 20 ms for at most `timeout`.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace offpath::testing
