// Kafka sink: publishes encoded exchanges with librdkafka, never blocking a worker and
// never losing a message without counting it.
//
// Each OutputRecord becomes one message on the main topic (and a second one on the
// failed topic when it is failed and --failed-topic is set): key = record.key (null when
// empty), value = record.payload, timestamp = request start, headers content-type,
// schema-version and outcome.
//
// Path of a message: write() hands it to librdkafka (produce with a copy, never waits).
// When librdkafka's queue is full, when the brokers are down (all-brokers-down error,
// or not yet reached since start), or while older messages wait in the spool, it is
// appended to the on-disk spool instead (spool.hpp), so that order is kept. A background
// thread owned by the sink serves delivery reports, probes the brokers (metadata request,
// about once a second while they are down) and replays the spool, oldest first, once
// they answer; when the spool is empty, write() produces directly again. Messages that
// librdkafka gives up on with a retriable error go back to the spool; those with a
// permanent error (e.g. too large) are counted as failed by error name. Only a full
// spool (or, without --spool-dir, a full librdkafka queue) drops a message, counted.
// flush() waits for delivery up to its deadline; what is still unsent then is purged from
// librdkafka and written to the front of the spool, for the next run.
//
// Coverage ledger records (write_coverage()) go to --coverage-topic, or the main topic,
// with the headers above plus record-type: coverage. They are produced directly, never
// spooled (librdkafka retries them until message.timeout.ms), and counted apart
// (coverage_*): the accounting below is that of exchange messages alone.
//
// Accounting, at any moment (messages, not records):
//   messages + recovered = delivered + failed + dropped + spool_pending + in_flight
//
// Threads: workers call write() concurrently; the main thread calls flush(), stats() and
// the destructor; librdkafka callbacks run on the sink's background thread (log lines
// also on librdkafka's own threads). The sink owns the producer, its topics, the spool
// and the background thread; the producer is destroyed before the state its callbacks use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "output/sink.hpp"

namespace offpath {

inline constexpr std::string_view kKafkaHeaderContentType = "content-type";
inline constexpr std::string_view kKafkaHeaderSchema = "schema-version";
inline constexpr std::string_view kKafkaHeaderOutcome = "outcome";
inline constexpr std::string_view kKafkaHeaderRecordType = "record-type";  // coverage only

struct KafkaSinkStats {
  std::uint64_t records = 0;        // write() calls
  std::uint64_t messages = 0;       // messages made from them (main + failed topic)
  std::uint64_t recovered = 0;      // messages found in the spool at start (earlier run)
  std::uint64_t delivered = 0;      // acknowledged by the brokers
  std::uint64_t failed = 0;         // permanent error (see failed_by_error)
  std::uint64_t dropped = 0;        // no room anywhere (see dropped_by_reason)
  std::uint64_t spool_pending = 0;  // in the spool, waiting to be sent
  std::uint64_t in_flight = 0;      // handed to librdkafka, no delivery report yet
  std::uint64_t spooled = 0;        // appended to the spool since start
  std::uint64_t replayed = 0;       // read back from the spool and handed to librdkafka
  std::uint64_t spool_bytes = 0;
  std::uint64_t spool_corrupt_records = 0;
  std::uint64_t spool_corrupt_bytes = 0;
  std::uint64_t coverage_records = 0;    // coverage ledger records produced
  std::uint64_t coverage_delivered = 0;  // ... acknowledged by the brokers
  std::uint64_t coverage_failed = 0;     // ... refused, timed out or unsent at exit
  bool brokers_up = false;          // the last probe or delivery succeeded
  bool spooling = false;            // write() currently appends to the spool
  std::vector<std::pair<std::string, std::uint64_t>> failed_by_error;   // librdkafka names
  std::vector<std::pair<std::string, std::uint64_t>> dropped_by_reason;  // spool_full, ...
};

// Default topic when -t is not given: "http-exchanges" (--publish all) or
// "failed-requests" (--publish failed).
std::string default_kafka_topic(PublishMode mode);

// librdkafka properties set before the user's -X ones (which override them).
// queue_kbytes: librdkafka's in-memory queue (queue.buffering.max.kbytes), set from the
// memory budget; -X queue.buffering.max.kbytes still wins.
std::vector<std::pair<std::string, std::string>> default_kafka_properties(
    std::uint64_t queue_kbytes = 65536);

// Builds the producer (bad -X properties are an error naming the property), opens the
// spool when options.spool_dir is set, starts the background thread. Unreachable brokers
// are not an error (messages go to the spool and error lines are logged) unless
// options.exit_on_broker_error is set: then the brokers and topics must answer a
// metadata request within 5 seconds.
Result<std::unique_ptr<Sink>> make_kafka_sink(const KafkaOptions& options, PublishMode mode,
                                              std::uint64_t queue_kbytes = 65536);

// The detailed counters, when `sink` is a Kafka sink.
std::optional<KafkaSinkStats> kafka_sink_stats(const Sink& sink);

// One line "kafka: records=… messages=… delivered=… …" (key=value, for logs and tests).
std::string format_kafka_stats(const KafkaSinkStats& stats);

}  // namespace offpath
