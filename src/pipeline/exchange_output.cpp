#include "pipeline/exchange_output.hpp"

#include "filter/filter_set.hpp"

namespace offpath {

ExchangeOutput::ExchangeOutput(const Config& config, const ClassifyOptions& classify, Sink& sink)
    : publish_(config.publish),
      key_mode_(config.kafka.key),
      classify_(classify),
      encoder_(make_record_encoder(config.record)),
      sink_(sink) {
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
  if (key_mode_ == KafkaKeyMode::Connection) {
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
