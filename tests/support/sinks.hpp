// Sinks for tests: CapturingSink keeps every record, NullSink drops them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "output/sink.hpp"

namespace offpath::testing {

// Sink that keeps every record it is given.
class CapturingSink final : public Sink {
 public:
  // reads_keys false: behaves as a sink without keys (files).
  explicit CapturingSink(bool reads_keys = true) : keys_(reads_keys) {}
  struct Record {
    std::string payload;
    std::string key;
    std::string outcome;
    bool failed = false;
  };
  void write(const OutputRecord& r) override {
    records.push_back({std::string(r.payload), std::string(r.key), std::string(r.outcome),
                       r.failed});
    ++stats_.written;
  }
  bool flush(std::chrono::milliseconds /*deadline*/) override { return true; }
  SinkStats stats() const override { return stats_; }
  bool uses_keys() const override { return keys_; }

  std::vector<Record> records;

 private:
  bool keys_;
  SinkStats stats_;
};

// Sink that drops everything (fuzzing, throughput).
class NullSink final : public Sink {
 public:
  void write(const OutputRecord& r) override {
    ++stats_.written;
    bytes_ += r.payload.size();
  }
  bool flush(std::chrono::milliseconds /*deadline*/) override { return true; }
  SinkStats stats() const override { return stats_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  SinkStats stats_;
  std::uint64_t bytes_ = 0;
};

}  // namespace offpath::testing
