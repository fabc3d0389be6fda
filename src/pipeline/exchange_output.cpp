#include "pipeline/exchange_output.hpp"

namespace offpath {

ExchangeOutput::ExchangeOutput(const Config& config, const ClassifyOptions& classify, Sink& sink)
    : publish_(config.publish),
      key_mode_(config.kafka.key),
      classify_(classify),
      encoder_(config.record),
      sink_(sink) {}

void ExchangeOutput::on_exchange(Exchange&& ex) {
  ++counters_.exchanges;
  ++counters_.by_outcome[static_cast<std::size_t>(ex.outcome)];
  Classification c = classify(ex, classify_);
  ++counters_.by_error[static_cast<std::size_t>(c.error_type)];
  if (c.failed) ++counters_.failed;
  if (publish_ == PublishMode::Failed && !c.failed) {
    ++counters_.not_published;
    return;
  }
  buffer_.clear();
  encoder_.encode(ex, c, buffer_);
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
  rec.schema = kSchemaVersion;
  rec.ts = ex.start();
  rec.failed = c.failed;
  sink_.write(rec);
  ++counters_.published;
}

}  // namespace offpath
