#include <CLI/CLI.hpp>

#include <map>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {

void add_kafka_options(CLI::App& app, Config& c) {
  auto& k = c.kafka;
  const char* group = "Kafka";
  app.add_option("-b,--brokers", k.brokers,
                 "Publish to Kafka: bootstrap brokers host:port[,host:port] (else stdout)")
      ->group(group);
  app.add_option("-t,--topic", k.topic,
                 "Topic (default failed-requests with --publish failed, http-exchanges with "
                 "--publish all)")
      ->group(group);
  app.add_option("--failed-topic", k.failed_topic, "Failed exchanges also go to this topic")
      ->group(group);
  app.add_option("--coverage-topic", k.coverage_topic,
                 "Coverage ledger records go to this topic (default: the main topic)")
      ->group(group);
  app.add_option_function<std::vector<std::string>>(
         "-X",
         [&k](const std::vector<std::string>& kvs) {
           for (const auto& kv : kvs) {
             auto eq = kv.find('=');
             if (eq == std::string::npos || eq == 0) {
               throw CLI::ValidationError("-X", "expected key=value, got '" + kv + "'");
             }
             k.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
           }
         },
         "librdkafka property key=value (repeatable), e.g. -X acks=1")
      ->group(group);
  std::map<std::string, KafkaKeyMode> keys{{"connection", KafkaKeyMode::Connection},
                                           {"correlation_id", KafkaKeyMode::CorrelationId},
                                           {"none", KafkaKeyMode::None}};
  app.add_option("--key", k.key, "Message key: connection (default), correlation_id or none")
      ->transform(CLI::CheckedTransformer(keys, CLI::ignore_case))
      ->group(group);
  app.add_option("--spool-dir", k.spool_dir,
                 "Directory for the on-disk spool used while the broker is unreachable")
      ->group(group);
  app.add_option("--spool-max-mb", k.spool_max_mb, "Spool size limit in MB (default 1024)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20))
      ->group(group);
  app.add_flag("--exit-on-broker-error", k.exit_on_broker_error,
               "Exit (code 1) when the brokers cannot be reached at start, instead of spooling")
      ->group(group);
  app.add_option("--flush-timeout-ms", k.flush_timeout_ms,
                 "How long shutdown waits for Kafka deliveries (default 10000)")
      ->check(CLI::Range(0, 600000))
      ->group(group);
}

}  // namespace offpath
