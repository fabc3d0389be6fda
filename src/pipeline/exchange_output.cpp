#include "pipeline/exchange_output.hpp"

#include "config/config_updates.hpp"
#include "filter/filter_set.hpp"
#include "output/record_encoder.hpp"

namespace offpath {

ExchangeOutput::ExchangeOutput(const Config& config, const ClassifyOptions& classify, Sink& sink)
    : publish_(config.publish),
      // A sink that reads no keys (a file) is given none: no key is worked out per record.
      key_mode_(sink.uses_keys() ? config.kafka.key : KafkaKeyMode::None),
      classify_(classify),
      encoder_(make_record_encoder(config.record)),
      updates_(config.updates),
      generation_(config.updates != nullptr ? config.updates->generation() : 0),
      sink_(sink),
      redact_(config.record.redact_headers),
      memory_(config.memory) {
  for (auto& h : redact_) h = lower_ascii(h);
  if (auto filters = build_filters(config); filters) filter_ = std::move(filters->filter);
}

void ExchangeOutput::adopt(const Config& config) {
  publish_ = config.publish;
  encoder_ = make_record_encoder(config.record);
  redact_ = config.record.redact_headers;
  for (auto& h : redact_) h = lower_ascii(h);
  if (auto filters = build_filters(config); filters) {
    classify_ = filters->classify;
    filter_ = std::move(filters->filter);
  }
  ++counters_.reloads;
}

void ExchangeOutput::on_exchange(Exchange&& ex) {
  if (updates_ != nullptr && updates_->generation() != generation_) {
    generation_ = updates_->generation();
    adopt(*updates_->current());
  }
  ++counters_.exchanges;
  ++counters_.by_outcome[static_cast<std::size_t>(ex.outcome)];
  Classification c = classify(ex, classify_);
  if (const double ms = latency_ms(ex); ms >= 0) {
    std::size_t b = 0;
    while (b < kLatencyBucketsMs.size() && ms > kLatencyBucketsMs[b]) ++b;
    ++counters_.latency_buckets[b];
    counters_.latency_sum_ms += ms;
  }
  ++counters_.by_error[static_cast<std::size_t>(c.error_type)];
  if (c.failed) ++counters_.failed;
  if (!filter_.matches(ex, c)) {
    ++counters_.filtered;
    return;
  }
  if (publish_ == PublishMode::Failed && !c.failed) {
    ++counters_.not_published;
    return;
  }
  if (!c.failed && !filter_.sampled_in(ex)) {
    ++counters_.sampled_out;
    return;
  }
  // Shedding: only failures are worth their record while memory is short.
  const int level = memory_.level();
  if (level >= kShedSuccesses && !c.failed) {
    ++counters_.successes_not_encoded;
    return;
  }
  if (level != 0) {
    ex.degraded = static_cast<std::uint8_t>(level);
    ++counters_.degraded;
  }
  buffer_.clear();
  encoder_->encode(ex, c, buffer_);
  if (const std::int64_t b = heap_bytes(buffer_); b != buffer_bytes_) {
    memory_.change(MemoryPool::Output, buffer_bytes_, b);
    buffer_bytes_ = b;
  }
  key_.clear();
  if (key_mode_ == KafkaKeyMode::CorrelationId) {
    key_ = correlation_id(ex, redact_);
  }
  // The connection is the default key, and the fallback for exchanges without a
  // correlation id, so that one connection's exchanges keep their order in a partition.
  if (key_mode_ != KafkaKeyMode::None && key_.empty()) {
    key_ = ex.client.to_string();
    key_ += '-';
    key_ += ex.server.to_string();
  }
  OutputRecord rec;
  rec.payload = buffer_;
  rec.key = key_;
  rec.outcome = to_string(ex.outcome);
  rec.schema = encoder_->schema();
  rec.ts = ex.start();
  rec.failed = c.failed;
  sink_.write(rec);
  ++counters_.published;
}

OutputCounters ExchangeOutput::counters() const {
  OutputCounters c = counters_;
  c.memory = memory_.pools();
  return c;
}

}  // namespace offpath
