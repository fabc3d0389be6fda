// Sinks: where encoded exchange records go (stdout, a file, Kafka). Workers call write()
// concurrently, so every sink is thread-safe; write() never blocks a worker for long
// (Kafka queues or spools, files buffer). The record's views are valid only during the
// call: a sink that keeps them copies.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/time.hpp"

namespace offpath {

// The schema of coverage ledger records (pipeline/coverage_ledger.hpp).
inline constexpr std::string_view kCoverageSchema = "offpath/coverage/1";

struct OutputRecord {
  std::string_view payload;    // one encoded record (a JSON object, no trailing newline)
  std::string_view key;        // partitioning key: the connection, a correlation id, or empty
  std::string_view outcome;    // exchange outcome ("complete", "connection_reset", ...)
  std::string_view content_type = "application/json";
  std::string_view schema;     // e.g. "offpath/1"
  Timestamp ts;                // request start (packet time)
  bool failed = false;         // classified as failed
};

// What happened to the records a sink was given. Every record written is, in the end,
// delivered, spooled, failed or dropped, each counted.
struct SinkStats {
  std::uint64_t written = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::uint64_t spooled = 0;
  std::uint64_t dropped = 0;
  std::uint64_t spool_bytes = 0;
  std::uint64_t queue_depth = 0;
  // Coverage ledger records (write_coverage()), counted apart from the exchange records
  // above so that those add up on their own.
  std::uint64_t coverage_written = 0;
  std::uint64_t coverage_delivered = 0;
  std::uint64_t coverage_failed = 0;
};

// Builds a coverage record's payload from the sink's counters at the moment the record
// takes its place in the output.
using CoverageMaker = std::function<void(const SinkStats& at_write, std::string& payload)>;

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const OutputRecord& record) = 0;
  // Pushes out what is buffered, waiting at most `deadline`; false when something could
  // not be delivered in time (it is then spooled or counted, never silently lost).
  virtual bool flush(std::chrono::milliseconds deadline) = 0;
  virtual SinkStats stats() const = 0;
  // Whether write() reads OutputRecord::key; a sink that ignores it saves its caller
  // working the key out for every record.
  virtual bool uses_keys() const { return true; }
  // Writes one coverage ledger record (schema kCoverageSchema, packet time `ts`): not an
  // exchange, so counted in the coverage_* fields only. `make` is called once, with
  // stats() taken so that the exchange records counted in it are exactly those before
  // this record in the output (files: under the same lock as the writes). Called by the
  // capture thread, rarely (once per ledger interval). This default, for sinks without
  // coverage support (tests), writes it as an ordinary record.
  virtual void write_coverage(Timestamp ts, const CoverageMaker& make) {
    std::string payload;
    make(stats(), payload);
    OutputRecord record;
    record.payload = payload;
    record.outcome = "coverage";
    record.schema = kCoverageSchema;
    record.ts = ts;
    write(record);
  }
};

}  // namespace offpath
