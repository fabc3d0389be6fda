#include "pipeline/exchange_output.hpp"

#include <cctype>

#include "filter/filter_set.hpp"
#include "output/record_encoder.hpp"

namespace offpath {

ExchangeOutput::ExchangeOutput(const Config& config, const ClassifyOptions& classify, Sink& sink)
    : publish_(config.publish),
      key_mode_(config.kafka.key),
      classify_(classify),
      encoder_(make_record_encoder(config.record)),
      sink_(sink),
      redact_(config.record.redact_headers) {
  for (auto& h : redact_) {
    for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (auto filters = build_filters(config); filters) filter_ = std::move(filters->filter);
}

void ExchangeOutput::on_exchange(Exchange&& ex) {
  ++counters_.exchanges;
  ++counters_.by_outcome[static_cast<std::size_t>(ex.outcome)];
  Classification c = classify(ex, classify_);
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
  buffer_.clear();
  encoder_->encode(ex, c, buffer_);
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

}  // namespace offpath
