#include "pipeline/app.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "capture/live_source.hpp"
#include "capture/pcap_file_source.hpp"
#include "join/join_config.hpp"
#include "pipeline/gateway_detection.hpp"
#include "config/cli.hpp"
#include "config/config_updates.hpp"
#include "config/privileges.hpp"
#include "config/systemd_notify.hpp"
#include "filter/filter_set.hpp"
#include "metrics/http_server.hpp"
#include "metrics/pipeline_metrics.hpp"
#include "metrics/rate_limit.hpp"
#include "output/file_sink.hpp"
#include "common/memory_budget.hpp"
#include "output/kafka_sink.hpp"
#include "pipeline/coverage_ledger.hpp"
#include "pipeline/pipeline.hpp"

namespace offpath {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM set g_stop (the capture loop checks it). SIGHUP is blocked in every
// thread (the mask is inherited, so this runs before any thread starts) and taken with
// sigtimedwait() by the service thread: no handler interrupts a read of the capture.
void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void block_sighup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::get("offpath");
  if (!logger) logger = spdlog::stderr_logger_mt("offpath");
  logger->set_pattern("offpath: %l: %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "offpath: error: %s\n", message.c_str());
  return 2;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

// The keys whose value differs between two parses, as "key: old -> new".
std::vector<std::string> changed_settings(const std::vector<Setting>& before,
                                          const std::vector<Setting>& after) {
  std::map<std::string, std::string> a;
  std::map<std::string, std::string> b;
  for (const auto& s : before) a[s.key] = s.value;
  for (const auto& s : after) b[s.key] = s.value;
  std::vector<std::string> out;
  for (const auto& [k, v] : b) {
    auto it = a.find(k);
    if (it == a.end()) {
      out.push_back(k + ": (default) -> " + v);
    } else if (it->second != v) {
      out.push_back(k + ": " + it->second + " -> " + v);
    }
  }
  for (const auto& [k, v] : a) {
    if (b.count(k) == 0) out.push_back(k + ": " + v + " -> (default)");
  }
  return out;
}

// The part of a configuration that a reload may change: filters and classification,
// publish mode, record format and options, log level, stats interval. Everything else
// (input, capture, Kafka, workers, limits, metrics address, user) needs a restart.
Config reloadable_part_of(const Config& next, const Config& running) {
  Config c = running;
  c.filter = next.filter;
  c.publish = next.publish;
  c.record = next.record;
  c.log_level = next.log_level;
  c.service.stats_interval_s = next.service.stats_interval_s;
  return c;
}

// What the metrics handler and the service thread read while the pipeline runs. The
// pointers are set once before the capture starts and cleared (under `mutex`) before
// what they point to goes away.
struct RunState {
  std::mutex mutex;
  const Pipeline* pipeline = nullptr;
  const Source* source = nullptr;
  const Sink* sink = nullptr;
  std::atomic<bool> capturing{false};
  std::atomic<std::uint64_t> reloads_ok{0};
  std::atomic<std::uint64_t> reloads_invalid{0};
  std::atomic<std::uint64_t> reloads_unchanged{0};
  double start_time_s = 0;

  MetricsInputs snapshot() {
    MetricsInputs in;
    std::lock_guard lock(mutex);
    if (pipeline != nullptr) in.pipeline = pipeline->live_counters();
    if (source != nullptr) {
      in.source = source->stats();
      in.backend = source->backend_counters();
    }
    if (sink != nullptr) {
      in.sink = sink->stats();
      in.kafka = kafka_sink_stats(*sink);
    }
    in.service.reloads_ok = reloads_ok.load();
    in.service.reloads_invalid = reloads_invalid.load();
    in.service.reloads_unchanged = reloads_unchanged.load();
    in.service.start_time_s = start_time_s;
    in.service.capturing = capturing.load();
    return in;
  }
  void detach() {
    std::lock_guard lock(mutex);
    pipeline = nullptr;
    source = nullptr;
    sink = nullptr;
  }
};

// The service thread: SIGHUP reloads, the periodic stats line, rate-limited warnings
// about losses, the replay progress line and the systemd watchdog. Wakes every 100 ms, and
// at once when stopped (a SIGHUP sent to the thread itself ends its wait).
class ServiceThread {
 public:
  ServiceThread(int argc, char** argv, const CommandLine& first, ConfigUpdates& updates,
                RunState& state, bool progress)
      : argc_(argc),
        argv_(argv),
        settings_(first.settings),
        running_(first.config),
        updates_(updates),
        state_(state),
        progress_(progress) {
    thread_ = std::thread([this] { run(); });
  }
  ~ServiceThread() { stop(); }
  ServiceThread(const ServiceThread&) = delete;
  ServiceThread& operator=(const ServiceThread&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGHUP);  // blocked there: ends sigtimedwait()
      thread_.join();
    }
    if (progress_shown_) std::fputs("\r\033[K", stderr);
  }

 private:
  void run() {
    const auto watchdog = watchdog_ping_interval();
    auto last_watchdog = Clock::now();
    auto last_stats = Clock::now();
    auto last_progress = Clock::now();
    auto last_check = Clock::now();
    MetricsInputs prev_stats = state_.snapshot();
    MetricsInputs prev_check = prev_stats;
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    for (;;) {
      timespec wait{0, 100'000'000};
      const int signal = sigtimedwait(&hup, nullptr, &wait);
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (signal == SIGHUP) reload();
      const auto now = Clock::now();
      if (watchdog.count() > 0 && now - last_watchdog >= watchdog) {
        notify_watchdog();
        last_watchdog = now;
      }
      const auto interval = std::chrono::seconds(running_.service.stats_interval_s);
      if (interval.count() > 0 && now - last_stats >= interval) {
        MetricsInputs cur = state_.snapshot();
        spdlog::info("{}", format_stats_line(
                               cur, prev_stats,
                               std::chrono::duration<double>(now - last_stats).count()));
        prev_stats = cur;
        last_stats = now;
      }
      if (now - last_check >= std::chrono::seconds(1)) {
        MetricsInputs cur = state_.snapshot();
        warn_losses(cur, prev_check, now);
        prev_check = cur;
        last_check = now;
      }
      if (progress_ && now - last_progress >= std::chrono::seconds(1)) {
        show_progress(now);
        last_progress = now;
      }
    }
  }

  void warn_losses(const MetricsInputs& cur, const MetricsInputs& prev, Clock::time_point now) {
    if (cur.source.kernel_drops > prev.source.kernel_drops && drops_limit_.allow(now)) {
      spdlog::warn("the kernel dropped {} packets in the last second (total {}): capture is "
                   "too slow or the ring too small (--buffer-mb){}",
                   cur.source.kernel_drops - prev.source.kernel_drops, cur.source.kernel_drops,
                   suppressed(drops_limit_));
    }
    std::uint64_t q_now = 0;
    std::uint64_t q_prev = 0;
    for (auto d : cur.pipeline.queue_drops) q_now += d;
    for (auto d : prev.pipeline.queue_drops) q_prev += d;
    if (q_now > q_prev && queue_limit_.allow(now)) {
      spdlog::warn("workers fell behind: {} segments dropped at full queues in the last "
                   "second (total {}){}",
                   q_now - q_prev, q_now, suppressed(queue_limit_));
    }
    if (cur.sink.dropped > prev.sink.dropped && sink_limit_.allow(now)) {
      spdlog::warn("{} records dropped by the output in the last second (total {}){}",
                   cur.sink.dropped - prev.sink.dropped, cur.sink.dropped,
                   suppressed(sink_limit_));
    }
  }

  static std::string suppressed(const RateLimit& limit) {
    if (limit.suppressed() == 0) return "";
    return " (" + std::to_string(limit.suppressed()) + " similar warnings suppressed)";
  }

  void show_progress(Clock::time_point now) {
    const MetricsInputs cur = state_.snapshot();
    const double read = static_cast<double>(cur.source.input_bytes_read);
    const double total = static_cast<double>(cur.source.input_bytes_total);
    if (!progress_started_) {
      progress_started_ = true;
      progress_t0_ = now;
      return;
    }
    const double secs = std::chrono::duration<double>(now - progress_t0_).count();
    const double rate = secs > 0 ? read / secs : 0;
    std::string line = "offpath: read " + human_bytes(read);
    if (total > 0) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * read / total);
      line += " of " + human_bytes(total) + pct;
    }
    line += ", " + human_bytes(rate) + "/s";
    if (total > 0 && rate > 0 && read < total) {
      const auto eta = static_cast<long long>((total - read) / rate);
      char buf[32];
      std::snprintf(buf, sizeof buf, ", ETA %lld:%02lld", eta / 60, eta % 60);
      line += buf;
    }
    line += ", exchanges " + std::to_string(cur.pipeline.output.exchanges);
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
    progress_shown_ = true;
  }

  void reload() {
    spdlog::info("SIGHUP: reloading the configuration");
    auto parsed = parse_command_line(argc_, argv_);
    if (!parsed) {
      ++state_.reloads_invalid;
      spdlog::error("reload rejected, the running configuration stays: {}",
                    parsed.error().message);
      return;
    }
    auto filters = build_filters(parsed->config);
    if (!filters) {
      ++state_.reloads_invalid;
      spdlog::error("reload rejected, the running configuration stays: {}",
                    filters.error().message);
      return;
    }
    Config next = parsed->config;
    next.updates = running_.updates;
    next.memory = running_.memory;
    for (const auto& change : changed_settings(settings_, parsed->settings)) {
      spdlog::info("reload: {}", change);
    }
    Config applied = reloadable_part_of(next, running_);
    if (!(applied == next)) {
      spdlog::warn("reload: some changes need a restart and were not applied (only filters, "
                   "classification, --publish, record format and options, --log-level and "
                   "--stats-interval reload)");
    }
    settings_ = parsed->settings;
    if (applied == running_) {
      ++state_.reloads_unchanged;
      spdlog::info("reload: nothing to apply");
      return;
    }
    running_ = applied;
    spdlog::get("offpath")->set_level(spdlog::level::from_str(running_.log_level));
    updates_.publish(std::make_shared<const Config>(running_));
    ++state_.reloads_ok;
    spdlog::info("reload: applied (configuration {})", updates_.generation());
  }

  int argc_;
  char** argv_;
  std::vector<Setting> settings_;
  Config running_;
  ConfigUpdates& updates_;
  RunState& state_;
  bool progress_;
  bool progress_started_ = false;
  bool progress_shown_ = false;
  Clock::time_point progress_t0_;
  RateLimit drops_limit_{std::chrono::seconds(60)};
  RateLimit queue_limit_{std::chrono::seconds(60)};
  RateLimit sink_limit_{std::chrono::seconds(60)};
  std::mutex mutex_;
  bool stopping_ = false;
  std::thread thread_;
};

// Makes the Kafka spool directory (and what is in it) the target user's, so that the
// spool still grows after the switch (systemd's StateDirectory= does the same).
void give_spool_to(const std::string& dir, const TargetUser& user) {
  if (dir.empty()) return;
  std::error_code ec;
  if (::chown(dir.c_str(), user.uid, user.gid) != 0) return;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    (void)::chown(entry.path().c_str(), user.uid, user.gid);
  }
}

}  // namespace

int run_offpath(int argc, char** argv) {
  block_sighup();
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) return usage_error(parsed.error().message);
  if (parsed->exit_now) return parsed->exit_code;
  Config config = parsed->config;
  setup_logging(config.log_level);
  auto filters = build_filters(config);
  if (!filters) return usage_error(filters.error().message);
  const bool live = config.read_file.empty();
  const bool root = ::geteuid() == 0;
  Result<TargetUser> user = resolve_user(config.service.user);
  if (!user && root) return usage_error(user.error().message);
  if (config.service.check_config) {
    std::fprintf(stderr, "offpath: configuration ok%s\n",
                 config.service.config_file.empty()
                     ? ""
                     : (" (config file " + config.service.config_file + ")").c_str());
    return 0;
  }
  for (const auto& s : parsed->settings) spdlog::debug("setting {} = {} ({})", s.key, s.value, s.origin);

  // The gateway view: --gateway; else live, the host's addresses once they act as gateways
  // (auto); else in a replay of a file, the gateways found in it.
  if (config.gateway.addresses.empty() && live) config.gateway.addresses = {"auto"};
  if (config.gateway.addresses.empty() && !live && config.read_file != "-") {
    for (const IpAddress& a : detect_gateways(
             config.read_file,
             PcapFileSource::replay_filter(config.live.filter, config.live.ports))) {
      config.gateway.addresses.push_back(a.to_string());
    }
    std::string found;
    for (const auto& a : config.gateway.addresses) found += (found.empty() ? "" : ", ") + a;
    if (!found.empty()) spdlog::info("gateway addresses found in the capture: {}", found);
  }
  if (auto join = join_setup(config.gateway); !join) {
    return usage_error(join.error().message);
  } else if (join->enabled() && !config.filter.connect_failures) {
    // A refused or unanswered connect to a backend is an upstream attempt; others stay
    // unpublished, as without the join.
    config.filter.connect_failures = true;
    config.gateway.connect_failures_for_join_only = true;
  }

  Result<std::unique_ptr<Source>> source = make_error("no input");
  if (!live) {
    auto file = PcapFileSource::open(
        config.read_file, PcapFileSource::replay_filter(config.live.filter, config.live.ports));
    if (!file) return usage_error(file.error().message);
    source = std::unique_ptr<Source>(std::move(*file));
  } else {
    source = make_live_source(config.live);
    if (!source) return usage_error(source.error().message);
  }
  // One budget for everything held (--memory-limit); see common/memory_budget.hpp.
  MemoryBudget memory(config.memory_limit);
  config.memory = &memory;
  Result<std::unique_ptr<Sink>> sink = make_error("no output");
  if (!config.kafka.brokers.empty()) {
    // librdkafka's in-memory queue is part of the budget: an eighth of it, at most the
    // 64 MB librdkafka would take by default, unless -X sets it.
    std::uint64_t queue_kbytes = std::min<std::uint64_t>(65536, config.memory_limit / 8 / 1024);
    for (const auto& [key, value] : config.kafka.properties) {
      if (key == "queue.buffering.max.kbytes") queue_kbytes = std::strtoull(value.c_str(), nullptr, 10);
    }
    memory.reserve(MemoryPool::Output, static_cast<std::int64_t>(queue_kbytes * 1024));
    sink = make_kafka_sink(config.kafka, config.publish, queue_kbytes);
    if (!sink) {
      std::fprintf(stderr, "offpath: error: %s\n", sink.error().message.c_str());
      return 1;
    }
  } else {
    auto file = FileSink::open(config.output_file);
    if (!file) return usage_error(file.error().message);
    sink = std::unique_ptr<Sink>(std::move(*file));
  }

  RunState state;
  state.start_time_s = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  std::unique_ptr<MetricsServer> metrics;
  if (!config.service.metrics.empty()) {
    auto server = MetricsServer::start(config.service.metrics, [&state](std::string_view path) {
      if (path == "/metrics") {
        return HttpAnswer{200, "text/plain; version=0.0.4; charset=utf-8",
                          render_metrics(state.snapshot())};
      }
      if (path == "/healthz") {
        if (state.capturing.load()) return HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"};
        return HttpAnswer{503, "text/plain; charset=utf-8", "not capturing\n"};
      }
      return HttpAnswer{404, "text/plain; charset=utf-8", "try /metrics or /healthz\n"};
    });
    if (!server) return usage_error(server.error().message);
    metrics = std::move(*server);
    spdlog::info("metrics on http://{}/metrics, health check on /healthz (up to {} connections)",
                 metrics->bound(), metrics->connection_limit());
  }

  // Capture is open (and the BPF program loaded): continue without root.
  if (user && user->uid != 0) {
    const CaptureCaps caps = !live ? CaptureCaps::None
                             : config.live.backend == CaptureBackend::Ebpf ? CaptureCaps::Ebpf
                                                                            : CaptureCaps::Pcap;
    const bool spool_ok =
        config.kafka.spool_dir.empty() || reachable_by(config.kafka.spool_dir, *user);
    if (root && !spool_ok) {
      // Switching user would leave the spool unwritable: stay root, without capabilities
      // beyond what capture needs.
      spdlog::warn("--spool-dir {} is not reachable by user {}: staying root with "
                   "capabilities {} only (give the user a path it can reach, e.g. "
                   "/var/lib/offpath/spool)",
                   config.kafka.spool_dir, user->name, describe(caps));
      if (auto limited = limit_capabilities(caps); !limited) {
        spdlog::error("{}", limited.error().message);
        return 1;
      }
    } else {
      if (root) give_spool_to(config.kafka.spool_dir, *user);
      if (auto dropped = drop_privileges(*user, caps); !dropped) {
        spdlog::error("{}", dropped.error().message);
        return 1;
      }
    }
    if (root && spool_ok) {
      spdlog::log(live ? spdlog::level::info : spdlog::level::debug,
                  "running as user {} (uid {}) with capabilities: {}", user->name, user->uid,
                  describe(caps));
    }
  }

  install_signal_handlers();
  ConfigUpdates updates(std::make_shared<const Config>(config));
  config.updates = &updates;
  const ClassifyOptions classify = filters->classify;
  Pipeline pipeline(config, classify, **sink, live);
  if (const MemoryStatus m = memory.status(); m.used > m.limit / 2) {
    spdlog::warn("--memory-limit {}: fixed buffers (worker queues, output) take {} bytes of it "
                 "already; flows will be shed early: raise the limit or use fewer workers",
                 m.limit, m.used);
  }
  {
    std::lock_guard lock(state.mutex);
    state.pipeline = &pipeline;
    state.source = source->get();
    state.sink = sink->get();
  }
  const bool progress = !live && config.read_file != "-" &&
                        (config.service.progress == "on" ||
                         (config.service.progress == "auto" && ::isatty(STDERR_FILENO) == 1));
  ServiceThread service(argc, argv, *parsed, updates, state, progress);
  state.capturing.store(true);
  notify_ready("capturing from " + (*source)->describe());
  // The coverage ledger, on unless --ledger-interval off, sits between the source and the
  // pipeline: by default a record every minute live, and only the final one in a replay.
  std::unique_ptr<CoverageLedger> ledger;
  double ledger_interval = config.service.ledger_interval_s;
  if (ledger_interval == ServiceOptions::kLedgerAuto) ledger_interval = live ? 60.0 : 0.0;
  if (ledger_interval >= 0) {
    ledger = std::make_unique<CoverageLedger>(pipeline, **source, **sink, ledger_interval);
  }
  auto ran = (*source)->run(ledger ? static_cast<FrameHandler&>(*ledger) : pipeline, g_stop);
  state.capturing.store(false);
  notify_stopping();
  pipeline.finish(Outcome::CaptureEnded);
  const auto flush_timeout = std::chrono::milliseconds(config.kafka.flush_timeout_ms);
  const bool flushed = (*sink)->flush(flush_timeout);
  if (ledger) {
    // After the flush, so that the records add up to the summary; then delivered too (at
    // once when the flush could not deliver everything: the brokers are not answering).
    ledger->finish();
    (*sink)->flush(flushed ? flush_timeout : std::chrono::milliseconds(0));
  }
  service.stop();
  metrics.reset();
  state.detach();
  if (config.summary) {
    std::fputs(format_summary(pipeline.counters(), (*source)->stats(), (*sink)->stats(),
                              (*source)->live(), (*source)->backend_counters())
                   .c_str(),
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
