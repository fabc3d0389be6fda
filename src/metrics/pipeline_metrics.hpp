// The pipeline's counters as Prometheus metrics, and as the one-line periodic stats log.
// Names follow offpath_<module>_<event>_total{reason="…"} (README, section "Metrics");
// every reason is an enumerator's to_string(). Called on the metrics server thread and
// the service thread with copies (Pipeline::live_counters(), Source::stats(),
// Sink::stats(), kafka_sink_stats()), never with live worker state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/source.hpp"
#include "output/kafka_sink.hpp"
#include "output/sink.hpp"
#include "pipeline/pipeline.hpp"

namespace offpath {

struct ServiceCounters {
  std::uint64_t reloads_ok = 0;        // SIGHUP: new configuration published
  std::uint64_t reloads_invalid = 0;   // SIGHUP: rejected, old configuration kept
  std::uint64_t reloads_unchanged = 0; // SIGHUP: nothing reloadable changed
  double start_time_s = 0;             // wall clock at start (Unix seconds)
  bool capturing = false;              // the source runs
};

struct MetricsInputs {
  PipelineCounters pipeline;
  SourceStats source;
  std::vector<std::pair<std::string, std::uint64_t>> backend;  // Source::backend_counters()
  SinkStats sink;
  std::optional<KafkaSinkStats> kafka;
  ServiceCounters service;
};

std::string render_metrics(const MetricsInputs& in);

// "stats packets=… (+… /s) flows_active=… exchanges=… failed=… published=… …": the
// periodic log line (--stats-interval); rates against `previous` over `seconds`.
std::string format_stats_line(const MetricsInputs& now, const MetricsInputs& previous,
                              double seconds);

}  // namespace offpath
