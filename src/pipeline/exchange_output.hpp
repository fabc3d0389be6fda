// ExchangeOutput: the end of a worker's pipeline. Classifies each exchange, keeps the
// ones the publish mode asks for, encodes them and writes them to the shared sink.
// Counts every exchange by outcome, so that none disappears without a number.
// One per worker (it owns an encoding buffer); the sink it writes to is shared.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/memory_budget.hpp"
#include "config/config.hpp"
#include "exchange/classify.hpp"
#include "exchange/exchange.hpp"
#include "filter/exchange_filter.hpp"
#include "output/record_encoder.hpp"
#include "output/sink.hpp"

namespace offpath {

// Upper bounds of the latency histogram buckets, in milliseconds.
inline constexpr std::array<double, 14> kLatencyBucketsMs{1,   2.5, 5,    10,   25,   50,    100,
                                                         250, 500, 1000, 2500, 5000, 10000, 30000};

struct OutputCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(Outcome::kCount)> by_outcome{};
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorType::kCount)> by_error{};
  std::uint64_t exchanges = 0;
  std::uint64_t failed = 0;
  std::uint64_t published = 0;
  std::uint64_t not_published = 0;  // successful exchanges with --publish failed
  std::uint64_t filtered = 0;       // left out by an exchange filter (--method, --status, ...)
  std::uint64_t sampled_out = 0;    // successful exchanges left out by --sample
  // Latency (request start to response end) of exchanges with a response, for the metrics:
  // count per bucket of kLatencyBucketsMs (not cumulative), the last one unbounded.
  std::array<std::uint64_t, kLatencyBucketsMs.size() + 1> latency_buckets{};
  double latency_sum_ms = 0;
  std::uint64_t reloads = 0;  // new configurations adopted (SIGHUP)
  std::uint64_t successes_not_encoded = 0;  // successes counted, not built (shedding level 2)
  std::uint64_t degraded = 0;               // records built while shedding ("degraded": N)
  MemoryPools memory;                       // the encoding buffer (a gauge)
};

class ConfigUpdates;

// Reload: when config.updates is set (SIGHUP reload on), each exchange first checks for
// a newer configuration and adopts its filters, classification, publish mode and record
// options (config/config_updates.hpp); the rest of the configuration needs a restart.
class ExchangeOutput final : public ExchangeHandler {
 public:
  ExchangeOutput(const Config& config, const ClassifyOptions& classify, Sink& sink);
  void on_exchange(Exchange&& exchange) override;
  OutputCounters counters() const;

 private:
  PublishMode publish_;
  KafkaKeyMode key_mode_;
  ClassifyOptions classify_;
  ExchangeFilter filter_;  // from config.filter, checked at start-up (filter_set.hpp)
  std::unique_ptr<RecordEncoder> encoder_;  // --format
  void adopt(const Config& config);  // a reloaded configuration, already validated

  const ConfigUpdates* updates_ = nullptr;
  std::uint64_t generation_ = 0;
  Sink& sink_;
  std::string buffer_;
  std::string key_;
  std::vector<std::string> redact_;  // lower-case header names never used as a key
  MemoryAccount memory_;             // config.memory: the encoding buffer, the shedding level
  std::int64_t buffer_bytes_ = 0;    // what memory_ holds for buffer_
  OutputCounters counters_;
};

}  // namespace offpath
