#include "pipeline/app.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "capture/live_source.hpp"
#include "capture/pcap_file_source.hpp"
#include "config/cli.hpp"
#include "filter/filter_set.hpp"
#include "output/file_sink.hpp"
#include "output/kafka_sink.hpp"
#include "pipeline/pipeline.hpp"

namespace offpath {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("offpath");
  logger->set_pattern("offpath: %l: %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "offpath: error: %s\n", message.c_str());
  return 2;
}

}  // namespace

int run_offpath(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) return usage_error(parsed.error().message);
  if (parsed->exit_now) return parsed->exit_code;
  const Config config = parsed->config;
  setup_logging(config.log_level);
  auto filters = build_filters(config);
  if (!filters) return usage_error(filters.error().message);

  Result<std::unique_ptr<Source>> source = make_error("no input");
  if (!config.read_file.empty()) {
    auto file = PcapFileSource::open(
        config.read_file, PcapFileSource::replay_filter(config.live.filter, config.live.ports));
    if (!file) return usage_error(file.error().message);
    source = std::unique_ptr<Source>(std::move(*file));
  } else {
    source = make_live_source(config.live);
    if (!source) return usage_error(source.error().message);
  }
  Result<std::unique_ptr<Sink>> sink = make_error("no output");
  if (!config.kafka.brokers.empty()) {
    sink = make_kafka_sink(config.kafka, config.publish);
    if (!sink) {
      std::fprintf(stderr, "offpath: error: %s\n", sink.error().message.c_str());
      return 1;
    }
  } else {
    auto file = FileSink::open(config.output_file);
    if (!file) return usage_error(file.error().message);
    sink = std::unique_ptr<Sink>(std::move(*file));
  }

  install_signal_handlers();
  const ClassifyOptions classify = filters->classify;
  const bool live = config.read_file.empty();
  Pipeline pipeline(config, classify, **sink, live);
  auto ran = (*source)->run(pipeline, g_stop);
  pipeline.finish(Outcome::CaptureEnded);
  (*sink)->flush(std::chrono::milliseconds(config.kafka.flush_timeout_ms));
  if (config.summary) {
    std::fputs(format_summary(pipeline.counters(), (*source)->stats(), (*sink)->stats()).c_str(),
               stderr);
  }
  if (!config.read_file.empty() && (*source)->stats().truncated != 0) {
    spdlog::warn("capture file '{}' ends with a truncated record; everything before it was read",
                 config.read_file);
  }
  if (!ran) {
    spdlog::error("{}", ran.error().message);
    return 1;
  }
  return 0;
}

}  // namespace offpath
