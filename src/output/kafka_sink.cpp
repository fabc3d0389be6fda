#include "output/kafka_sink.hpp"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "output/kafka_message.hpp"
#include "output/spool.hpp"

namespace offpath {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kProbeInterval{1000};
constexpr int kProbeTimeoutMs = 1000;
constexpr int kStartupProbeTimeoutMs = 5000;
constexpr milliseconds kSyncInterval{1000};
constexpr milliseconds kPurgeWait{3000};
constexpr int kReplayBatch = 2000;
constexpr std::int64_t kLogRepeatSeconds = 30;

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Errors after which a message is not worth sending again: it would fail the same way.
// Everything else (timeouts, transport, unknown topic, authorisation, purge at exit...)
// may clear up, so the message is kept in the spool.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

// Per-message opaque: 0 for a message produced by write(), ticket + 1 for a spool replay,
// kCoverageTag for a coverage ledger record.
void* replay_tag(std::uint64_t ticket) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(ticket + 1));
}
constexpr std::uintptr_t kCoverageTag = ~std::uintptr_t{0};

int spdlog_level_of(int syslog_level) {
  if (syslog_level <= 3) return spdlog::level::err;
  if (syslog_level == 4) return spdlog::level::warn;
  if (syslog_level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

class KafkaSink final : public Sink {
 public:
  KafkaSink(const KafkaOptions& options, PublishMode mode, std::uint64_t queue_kbytes)
      : queue_kbytes_(queue_kbytes),
        options_(options),
        topic_(options.topic.empty() ? default_kafka_topic(mode) : options.topic),
        failed_topic_(options.failed_topic),
        coverage_topic_(options.coverage_topic.empty() ? topic_ : options.coverage_topic) {}

  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  Result<void> init();
  void write(const OutputRecord& record) override;
  void write_coverage(Timestamp ts, const CoverageMaker& make) override;
  bool flush(milliseconds deadline) override;
  SinkStats stats() const override;
  KafkaSinkStats kafka_stats() const;

 private:
  std::uint64_t queue_kbytes_;  // queue.buffering.max.kbytes unless -X sets it
  // librdkafka callbacks (opaque = this).
  static void on_delivery_cb(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    static_cast<KafkaSink*>(opaque)->on_delivery(*msg);
  }
  static void on_error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaSink*>(opaque)->on_error(static_cast<rd_kafka_resp_err_t>(err), reason);
  }
  static void on_log_cb(const rd_kafka_t*, int level, const char* facility, const char* buf) {
    spdlog::log(static_cast<spdlog::level::level_enum>(spdlog_level_of(level)),
                "kafka: librdkafka {}: {}", facility, buf);
  }

  void on_delivery(const rd_kafka_message_t& msg);
  void on_error(rd_kafka_resp_err_t err, const char* reason);

  void send(rd_kafka_topic_t* rkt, KafkaMessageView& message);
  rd_kafka_resp_err_t produce(rd_kafka_topic_t* rkt, const KafkaMessageView& message,
                              void* opaque, bool copy_header_names);
  void spool_locked(const KafkaMessageView& message);
  void count_failed(rd_kafka_resp_err_t err);
  void count_dropped(const char* reason, std::uint64_t n = 1);

  // Background thread.
  void run();
  bool probe(int timeout_ms);
  void replay_some();
  bool drained() const;
  void spill_unsent();
  rd_kafka_topic_t* topic_handle(std::string_view name);
  bool log_allowed(const std::string& what);

  const KafkaOptions options_;
  const std::string topic_;
  const std::string failed_topic_;
  const std::string coverage_topic_;

  // State used by the callbacks: declared before the producer, so destroyed after it.
  std::unique_ptr<Spool> spool_;
  std::uint64_t recovered_ = 0;
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> replay_in_flight_{0};
  std::atomic<std::uint64_t> spooled_{0};
  std::atomic<std::uint64_t> replayed_{0};
  std::atomic<std::uint64_t> coverage_records_{0};
  std::atomic<std::uint64_t> coverage_delivered_{0};
  std::atomic<std::uint64_t> coverage_failed_{0};
  std::atomic<std::uint64_t> coverage_in_flight_{0};  // not in in_flight_
  mutable std::mutex reasons_mu_;
  std::map<std::string, std::uint64_t> failed_by_error_;
  std::map<std::string, std::uint64_t> dropped_by_reason_;

  // Spooling mode: while true, write() appends to the spool. Changed under mode_mu_;
  // read without it on the fast path.
  std::atomic<bool> spooling_{false};
  std::mutex mode_mu_;
  std::string encode_buf_;  // under mode_mu_

  std::atomic<bool> brokers_up_{false};
  std::atomic<bool> fatal_{false};
  std::atomic<bool> stop_{false};

  // Background thread only.
  bool need_rewind_ = false;       // a replayed message failed: re-read from the cursor
  bool collecting_front_ = false;  // purging at shutdown: keep unsent messages in front_
  std::vector<std::string> front_;
  std::string replay_buf_;
  std::array<std::string, KafkaMessageView::kMaxHeaders> header_names_;
  Clock::time_point next_probe_{};
  std::map<std::string, std::int64_t> last_logged_;

  // flush() handshake with the background thread.
  std::mutex flush_call_mu_;
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  std::atomic<bool> flush_requested_{false};
  bool flush_done_ = false;
  bool flush_result_ = false;
  Clock::time_point flush_deadline_{};

  RdKafkaPtr rk_;
  TopicPtr rkt_main_;
  TopicPtr rkt_failed_;
  TopicPtr rkt_coverage_;  // --coverage-topic, when it is not the main topic
  std::map<std::string, TopicPtr, std::less<>> extra_topics_;  // replays for other topics
  std::thread thread_;
};

Result<void> KafkaSink::init() {
  if (options_.brokers.empty()) return make_error("kafka: no brokers given (-b)");
  char errstr[512];
  ConfPtr conf(rd_kafka_conf_new());
  auto set = [&](const std::string& key, const std::string& value) -> Result<void> {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return make_error("kafka: -X " + key + "=" + value + ": " + errstr);
    }
    return {};
  };
  for (const auto& [key, value] : default_kafka_properties(queue_kbytes_)) {
    if (auto r = set(key, value); !r) return r;
  }
  if (auto r = set("bootstrap.servers", options_.brokers); !r) {
    return make_error("kafka: -b " + options_.brokers + ": " + errstr);
  }
  for (const auto& [key, value] : options_.properties) {
    if (auto r = set(key, value); !r) return r;
  }
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::on_delivery_cb);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::on_error_cb);
  rd_kafka_conf_set_log_cb(conf.get(), &KafkaSink::on_log_cb);

  if (!options_.spool_dir.empty()) {
    SpoolOptions spool_options;
    spool_options.dir = options_.spool_dir;
    spool_options.max_bytes = options_.spool_max_mb << 20;
    auto spool = Spool::open(spool_options);
    if (!spool) return make_error("kafka: --spool-dir: " + spool.error().message);
    spool_ = std::move(*spool);
    SpoolStats st = spool_->stats();
    recovered_ = st.unread;
    if (recovered_ > 0 || st.corrupt_bytes > 0) {
      spdlog::info("kafka: spool {} holds {} messages from an earlier run ({} bytes); they go "
                   "out first{}",
                   options_.spool_dir, recovered_, st.bytes,
                   st.corrupt_bytes > 0
                       ? fmt::format(" ({} bytes of torn records skipped)", st.corrupt_bytes)
                       : std::string());
    }
    // Until the brokers answer, messages wait in the spool (behind those recovered).
    spooling_ = true;
  }

  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return make_error(std::string("kafka: cannot create producer: ") + errstr);
  (void)conf.release();  // now owned by rk
  rk_.reset(rk);

  rkt_main_.reset(rd_kafka_topic_new(rk_.get(), topic_.c_str(), nullptr));
  if (!rkt_main_) {
    return make_error("kafka: topic " + topic_ + ": " +
                      rd_kafka_err2str(rd_kafka_last_error()));
  }
  if (!failed_topic_.empty()) {
    rkt_failed_.reset(rd_kafka_topic_new(rk_.get(), failed_topic_.c_str(), nullptr));
    if (!rkt_failed_) {
      return make_error("kafka: --failed-topic " + failed_topic_ + ": " +
                        rd_kafka_err2str(rd_kafka_last_error()));
    }
  }

  if (coverage_topic_ != topic_) {
    rkt_coverage_.reset(rd_kafka_topic_new(rk_.get(), coverage_topic_.c_str(), nullptr));
    if (!rkt_coverage_) {
      return make_error("kafka: --coverage-topic " + coverage_topic_ + ": " +
                        rd_kafka_err2str(rd_kafka_last_error()));
    }
  }

  if (options_.exit_on_broker_error) {
    if (!probe(kStartupProbeTimeoutMs)) {
      return make_error("kafka: brokers " + options_.brokers +
                        " did not answer (--exit-on-broker-error)");
    }
    if (spool_ && spool_->unread() == 0) spooling_ = false;
  }
  next_probe_ = Clock::now();
  thread_ = std::thread([this] { run(); });
  return {};
}

KafkaSink::~KafkaSink() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (rk_) {
    // The background thread is gone: callbacks are served here from now on.
    rd_kafka_poll(rk_.get(), 0);
    spill_unsent();
  }
  if (spool_) spool_->sync();
  spdlog::info("{}", format_kafka_stats(kafka_stats()));
  extra_topics_.clear();
  rkt_coverage_.reset();
  rkt_failed_.reset();
  rkt_main_.reset();
  rk_.reset();
}

// ---- write path (worker threads) ----

void KafkaSink::write(const OutputRecord& record) {
  records_.fetch_add(1, std::memory_order_relaxed);
  KafkaMessageView message;
  message.has_key = !record.key.empty();
  message.key = record.key;
  message.timestamp_ms = record.ts.micros > 0 ? record.ts.micros / 1000 : 0;
  message.headers[0] = {kKafkaHeaderContentType, record.content_type};
  message.headers[1] = {kKafkaHeaderSchema, record.schema};
  message.headers[2] = {kKafkaHeaderOutcome, record.outcome};
  message.header_count = 3;
  message.payload = record.payload;
  message.topic = topic_;
  send(rkt_main_.get(), message);
  if (record.failed && rkt_failed_) {
    message.topic = failed_topic_;
    send(rkt_failed_.get(), message);
  }
}

void KafkaSink::write_coverage(Timestamp ts, const CoverageMaker& make) {
  std::string payload;
  make(stats(), payload);
  KafkaMessageView message;
  message.timestamp_ms = ts.micros > 0 ? ts.micros / 1000 : 0;
  message.headers[0] = {kKafkaHeaderContentType, "application/json"};
  message.headers[1] = {kKafkaHeaderSchema, kCoverageSchema};
  message.headers[2] = {kKafkaHeaderRecordType, "coverage"};
  message.header_count = 3;
  message.payload = payload;
  message.topic = coverage_topic_;
  coverage_records_.fetch_add(1, std::memory_order_relaxed);
  coverage_in_flight_.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_resp_err_t err =
      produce(rkt_coverage_ ? rkt_coverage_.get() : rkt_main_.get(), message,
              reinterpret_cast<void*>(kCoverageTag), false);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  coverage_in_flight_.fetch_sub(1, std::memory_order_relaxed);
  coverage_failed_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("kafka: coverage record not produced: {}", rd_kafka_err2str(err));
}

void KafkaSink::send(rd_kafka_topic_t* rkt, KafkaMessageView& message) {
  messages_.fetch_add(1, std::memory_order_relaxed);
  if (!spool_ || !spooling_.load(std::memory_order_acquire)) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    rd_kafka_resp_err_t err = produce(rkt, message, nullptr, false);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (!spool_) {
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        count_dropped("queue_full");
      } else {
        count_failed(err);
      }
      return;
    }
    if (is_permanent(err)) {
      count_failed(err);
      return;
    }
    // Queue full (or the producer cannot take it now): the spool keeps it, and the
    // messages after it, until the background thread has replayed them.
  }
  std::lock_guard lock(mode_mu_);
  spooling_.store(true, std::memory_order_release);
  spool_locked(message);
}

void KafkaSink::spool_locked(const KafkaMessageView& message) {
  encode_kafka_message(message, encode_buf_);
  switch (spool_->append(encode_buf_)) {
    case SpoolAppend::Ok:
      spooled_.fetch_add(1, std::memory_order_relaxed);
      break;
    case SpoolAppend::Full:
      count_dropped("spool_full");
      break;
    case SpoolAppend::IoError:
      count_dropped("spool_io_error");
      break;
  }
}

rd_kafka_resp_err_t KafkaSink::produce(rd_kafka_topic_t* rkt, const KafkaMessageView& message,
                                       void* opaque, bool copy_header_names) {
  rd_kafka_vu_t vu[8 + KafkaMessageView::kMaxHeaders];
  std::size_t n = 0;
  vu[n].vtype = RD_KAFKA_VTYPE_RKT;
  vu[n++].u.rkt = rkt;
  vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n].u.mem.ptr = const_cast<char*>(message.payload.data());
  vu[n++].u.mem.size = message.payload.size();
  if (message.has_key) {
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = const_cast<char*>(message.key.data());
    vu[n++].u.mem.size = message.key.size();
  }
  if (message.timestamp_ms > 0) {
    vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[n++].u.i64 = message.timestamp_ms;
  }
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = opaque;
  for (std::size_t i = 0; i < message.header_count; ++i) {
    const KafkaHeaderView& h = message.headers[i];
    const char* name = h.name.data();  // our constants are NUL-terminated
    if (copy_header_names) {
      header_names_[i].assign(h.name);
      name = header_names_[i].c_str();
    }
    vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
    vu[n].u.header.name = name;
    vu[n].u.header.val = h.value.data();
    vu[n++].u.header.size = static_cast<ssize_t>(h.value.size());
  }
  rd_kafka_error_t* error = rd_kafka_produceva(rk_.get(), vu, n);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return err;
}

void KafkaSink::count_failed(rd_kafka_resp_err_t err) {
  failed_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(reasons_mu_);
  ++failed_by_error_[rd_kafka_err2name(err)];
}

void KafkaSink::count_dropped(const char* reason, std::uint64_t n) {
  if (n == 0) return;
  dropped_.fetch_add(n, std::memory_order_relaxed);
  std::lock_guard lock(reasons_mu_);
  dropped_by_reason_[reason] += n;
}

// ---- callbacks (background thread, inside rd_kafka_poll) ----

// Rebuilds a message from its delivery report (views into `msg`).
void message_from_report(const rd_kafka_message_t& msg, KafkaMessageView& message) {
  message.topic = rd_kafka_topic_name(msg.rkt);
  message.has_key = msg.key != nullptr;
  message.key = {static_cast<const char*>(msg.key), msg.key_len};
  message.payload = {static_cast<const char*>(msg.payload), msg.len};
  rd_kafka_timestamp_type_t ts_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  std::int64_t ts = rd_kafka_message_timestamp(&msg, &ts_type);
  message.timestamp_ms = ts > 0 ? ts : 0;
  message.header_count = 0;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; i < KafkaMessageView::kMaxHeaders &&
                          rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                              RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    message.headers[i] = {name, {static_cast<const char*>(value), value ? size : 0}};
    message.header_count = i + 1;
  }
}

void KafkaSink::on_delivery(const rd_kafka_message_t& msg) {
  auto tag = reinterpret_cast<std::uintptr_t>(msg._private);
  if (tag == kCoverageTag) {
    coverage_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (msg.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      coverage_delivered_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    coverage_failed_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("kafka: coverage record not delivered: {}", rd_kafka_err2str(msg.err));
    return;
  }
  const bool replay = tag != 0;
  const std::uint64_t ticket = tag - 1;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (replay) replay_in_flight_.fetch_sub(1, std::memory_order_relaxed);

  if (msg.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    if (replay) spool_->ack(ticket);
    if (!brokers_up_.load(std::memory_order_relaxed)) next_probe_ = Clock::now();
    return;
  }
  if (collecting_front_) {
    // Purged at shutdown. Whatever librdkafka held is older than what is still unread in
    // the spool, so it goes to the spool's front, in librdkafka's order.
    if (!spool_) {
      count_dropped("unsent_at_exit");
      return;
    }
    KafkaMessageView message;
    message_from_report(msg, message);
    encode_kafka_message(message, front_.emplace_back());
    if (replay) spool_->ack(ticket);  // now copied to the front
    return;
  }
  if (is_permanent(msg.err) || !spool_) {
    count_failed(msg.err);
    if (replay) spool_->ack(ticket);
    return;
  }
  if (brokers_up_.exchange(false)) next_probe_ = Clock::now() + kProbeInterval;
  if (log_allowed("requeue")) {
    spdlog::warn("kafka: delivery failed ({}); message kept in the spool for a retry",
                 rd_kafka_err2str(msg.err));
  }
  std::lock_guard lock(mode_mu_);
  spooling_.store(true, std::memory_order_release);
  if (replay) {
    // Still in the spool, unacknowledged: re-read it (and what follows) in order later.
    need_rewind_ = true;
    return;
  }
  KafkaMessageView message;
  message_from_report(msg, message);
  spool_locked(message);
}

void KafkaSink::on_error(rd_kafka_resp_err_t err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk_.get(), buf, sizeof buf);
    spdlog::critical("kafka: fatal producer error {}: {}; messages now wait in the {}",
                     rd_kafka_err2name(orig), buf, spool_ ? "spool" : "void (no --spool-dir)");
    fatal_ = true;
    brokers_up_ = false;
    if (spool_) spooling_ = true;
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    if (brokers_up_.exchange(false)) next_probe_ = Clock::now() + kProbeInterval;
    if (spool_) spooling_ = true;
    if (log_allowed("all_brokers_down")) {
      spdlog::error("kafka: all brokers down ({}): {}", options_.brokers, reason);
    }
    return;
  }
  if (log_allowed(rd_kafka_err2name(err))) {
    spdlog::warn("kafka: {}: {}", rd_kafka_err2name(err), reason);
  }
}

// ---- background thread ----

bool KafkaSink::log_allowed(const std::string& what) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         Clock::now().time_since_epoch()).count();
  auto [it, inserted] = last_logged_.try_emplace(what, now);
  if (!inserted && now - it->second < kLogRepeatSeconds) return false;
  it->second = now;
  return true;
}

bool KafkaSink::probe(int timeout_ms) {
  auto check = [&](rd_kafka_topic_t* rkt, const std::string& name) -> bool {
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, rkt, &raw, timeout_ms);
    MetadataPtr md(raw);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (log_allowed("probe")) {
        spdlog::error("kafka: cannot reach brokers {}: {}; {}", options_.brokers,
                      rd_kafka_err2str(err),
                      spool_ ? "messages wait in spool " + spool_->dir()
                             : std::string("messages wait in memory (no --spool-dir)"));
      }
      return false;
    }
    if (md->topic_cnt < 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topics[0].partition_cnt < 1) {
      if (log_allowed("probe_topic_" + name)) {
        spdlog::error("kafka: topic {} on {}: {}", name, options_.brokers,
                      md->topic_cnt < 1 ? "not in metadata"
                                        : md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR
                                              ? rd_kafka_err2str(md->topics[0].err)
                                              : "no partitions");
      }
      return false;
    }
    return true;
  };
  bool ok = check(rkt_main_.get(), topic_) &&
            (!rkt_failed_ || check(rkt_failed_.get(), failed_topic_));
  if (ok) {
    last_logged_.erase("probe");
    std::uint64_t pending = spool_ ? spool_->unread() + spool_->unacked() : 0;
    if (pending > 0) {
      spdlog::info("kafka: brokers {} answer; sending {} spooled messages", options_.brokers,
                   pending);
    }
  }
  brokers_up_ = ok;
  return ok;
}

rd_kafka_topic_t* KafkaSink::topic_handle(std::string_view name) {
  if (name == topic_) return rkt_main_.get();
  if (rkt_failed_ && name == failed_topic_) return rkt_failed_.get();
  auto it = extra_topics_.find(name);
  if (it != extra_topics_.end()) return it->second.get();
  std::string owned(name);
  TopicPtr rkt(rd_kafka_topic_new(rk_.get(), owned.c_str(), nullptr));
  if (!rkt) return nullptr;
  return extra_topics_.emplace(owned, std::move(rkt)).first->second.get();
}

void KafkaSink::replay_some() {
  for (int i = 0; i < kReplayBatch; ++i) {
    std::uint64_t ticket = 0;
    if (!spool_->peek(replay_buf_, ticket)) {
      // Nothing left to read: back to direct produce (under the lock, so that no write()
      // can slip a message into the spool behind our back).
      std::lock_guard lock(mode_mu_);
      if (spool_->unread() == 0 && !need_rewind_ && !fatal_) {
        spooling_.store(false, std::memory_order_release);
      }
      return;
    }
    KafkaMessageView message;
    rd_kafka_topic_t* rkt = nullptr;
    if (!decode_kafka_message(replay_buf_, message) ||
        (rkt = topic_handle(message.topic)) == nullptr) {
      spool_->ack(spool_->advance());
      count_dropped("spool_undecodable");
      continue;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    replay_in_flight_.fetch_add(1, std::memory_order_relaxed);
    rd_kafka_resp_err_t err = produce(rkt, message, replay_tag(ticket), true);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)spool_->advance();
      replayed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    replay_in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (is_permanent(err)) {
      spool_->ack(spool_->advance());
      count_failed(err);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      brokers_up_ = false;
      next_probe_ = Clock::now() + kProbeInterval;
    }
    return;  // queue full: try again after the next poll
  }
}

bool KafkaSink::drained() const {
  if (in_flight_.load() != 0 || coverage_in_flight_.load() != 0) return false;
  return !spool_ || (spool_->unread() == 0 && spool_->unacked() == 0);
}

void KafkaSink::run() {
  auto last_sync = Clock::now();
  while (!stop_.load()) {
    bool replaying = spool_ && spooling_.load() && brokers_up_.load();
    rd_kafka_poll(rk_.get(), replaying || flush_requested_ ? 5 : 50);
    auto now = Clock::now();

    if (need_rewind_ && replay_in_flight_.load() == 0) {
      spool_->rewind();
      need_rewind_ = false;
    }
    if (!brokers_up_.load() && now >= next_probe_) {
      bool ok = probe(kProbeTimeoutMs);
      next_probe_ = Clock::now() + (ok ? milliseconds(0) : kProbeInterval);
    }
    if (spool_ && spooling_.load() && brokers_up_.load() && !fatal_.load() && !need_rewind_) {
      replay_some();
    }
    if (spool_ && now - last_sync >= kSyncInterval) {
      spool_->sync();
      last_sync = now;
    }

    std::unique_lock lock(flush_mu_);
    if (flush_requested_ && !flush_done_) {
      bool done = drained();
      if (!done && Clock::now() >= flush_deadline_) {
        lock.unlock();
        spill_unsent();
        lock.lock();
      }
      if (done || Clock::now() >= flush_deadline_) {
        flush_result_ = done;
        flush_done_ = true;
        flush_cv_.notify_all();
      }
    }
  }
}

// Purges what librdkafka still holds and writes it to the front of the spool: it is older
// than everything still unread there (replays in flight included, they are acknowledged
// at their old place once copied).
void KafkaSink::spill_unsent() {
  if (in_flight_.load() > 0 || coverage_in_flight_.load() > 0) {
    collecting_front_ = true;
    rd_kafka_resp_err_t err =
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::error("kafka: purge of unsent messages failed: {}", rd_kafka_err2str(err));
    }
    auto until = Clock::now() + kPurgeWait;
    while ((in_flight_.load() > 0 || coverage_in_flight_.load() > 0) && Clock::now() < until) {
      rd_kafka_poll(rk_.get(), 10);
    }
    collecting_front_ = false;
    if (in_flight_.load() > 0) {
      spdlog::error("kafka: {} messages still in librdkafka after purge", in_flight_.load());
    }
  }
  if (!spool_) return;
  spool_->rewind();
  need_rewind_ = false;
  if (!front_.empty()) {
    auto stored = spool_->prepend(front_);
    std::uint64_t kept = 0;
    if (stored) {
      kept = *stored;
    } else {
      spdlog::error("kafka: {}", stored.error().message);
    }
    spooled_.fetch_add(kept, std::memory_order_relaxed);
    count_dropped("spool_full", front_.size() - kept);
    front_.clear();
  }
  spool_->sync();
  std::uint64_t pending = spool_->unread();
  if (pending > 0) {
    spdlog::warn("kafka: {} messages left in spool {} for the next run", pending,
                 spool_->dir());
  }
  spooling_ = true;
  brokers_up_ = false;
  next_probe_ = Clock::now() + kProbeInterval;
}

bool KafkaSink::flush(milliseconds deadline) {
  std::lock_guard call(flush_call_mu_);
  std::unique_lock lock(flush_mu_);
  flush_deadline_ = Clock::now() + deadline;
  flush_requested_ = true;
  flush_done_ = false;
  bool finished = flush_cv_.wait_until(lock, flush_deadline_ + kPurgeWait + milliseconds(2000),
                                       [&] { return flush_done_; });
  flush_requested_ = false;
  return finished && flush_result_;
}

KafkaSinkStats KafkaSink::kafka_stats() const {
  KafkaSinkStats s;
  s.records = records_.load();
  s.messages = messages_.load();
  s.recovered = recovered_;
  s.delivered = delivered_.load();
  s.failed = failed_.load();
  s.dropped = dropped_.load();
  s.in_flight = in_flight_.load();
  s.spooled = spooled_.load();
  s.replayed = replayed_.load();
  s.coverage_records = coverage_records_.load();
  s.coverage_delivered = coverage_delivered_.load();
  s.coverage_failed = coverage_failed_.load();
  s.brokers_up = brokers_up_.load();
  s.spooling = spooling_.load();
  if (spool_) {
    SpoolStats st = spool_->stats();
    std::uint64_t held = st.unread + st.unacked;
    std::uint64_t replaying = replay_in_flight_.load();
    s.spool_pending = held > replaying ? held - replaying : 0;
    s.spool_bytes = st.bytes;
    s.spool_corrupt_records = st.corrupt_records;
    s.spool_corrupt_bytes = st.corrupt_bytes;
    s.dropped += st.corrupt_records;
  }
  std::lock_guard lock(reasons_mu_);
  s.failed_by_error.assign(failed_by_error_.begin(), failed_by_error_.end());
  s.dropped_by_reason.assign(dropped_by_reason_.begin(), dropped_by_reason_.end());
  if (s.spool_corrupt_records > 0) s.dropped_by_reason.emplace_back("spool_corrupt", s.spool_corrupt_records);
  return s;
}

SinkStats KafkaSink::stats() const {
  KafkaSinkStats k = kafka_stats();
  SinkStats s;
  s.written = k.messages;
  s.delivered = k.delivered;
  s.failed = k.failed;
  s.spooled = k.spool_pending;
  s.dropped = k.dropped;
  s.spool_bytes = k.spool_bytes;
  s.queue_depth = k.in_flight;
  s.coverage_written = k.coverage_records;
  s.coverage_delivered = k.coverage_delivered;
  s.coverage_failed = k.coverage_failed;
  return s;
}

}  // namespace

std::string default_kafka_topic(PublishMode mode) {
  return mode == PublishMode::All ? "http-exchanges" : "failed-requests";
}

std::vector<std::pair<std::string, std::string>> default_kafka_properties(
    std::uint64_t queue_kbytes) {
  return {
      {"client.id", "offpath"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      {"linger.ms", "5"},
      {"queue.buffering.max.kbytes", std::to_string(queue_kbytes)},
      {"reconnect.backoff.max.ms", "1000"},
  };
}

Result<std::unique_ptr<Sink>> make_kafka_sink(const KafkaOptions& options, PublishMode mode,
                                              std::uint64_t queue_kbytes) {
  auto sink = std::make_unique<KafkaSink>(options, mode, queue_kbytes);
  if (auto r = sink->init(); !r) return r.error();
  return std::unique_ptr<Sink>(std::move(sink));
}

std::optional<KafkaSinkStats> kafka_sink_stats(const Sink& sink) {
  if (const auto* kafka = dynamic_cast<const KafkaSink*>(&sink)) return kafka->kafka_stats();
  return std::nullopt;
}

std::string format_kafka_stats(const KafkaSinkStats& s) {
  std::string out = fmt::format(
      "kafka: records={} messages={} recovered={} delivered={} failed={} dropped={} "
      "spool_pending={} in_flight={} spooled={} replayed={} spool_bytes={}",
      s.records, s.messages, s.recovered, s.delivered, s.failed, s.dropped, s.spool_pending,
      s.in_flight, s.spooled, s.replayed, s.spool_bytes);
  if (s.coverage_records != 0) {
    out += fmt::format(" coverage_records={} coverage_delivered={} coverage_failed={}",
                       s.coverage_records, s.coverage_delivered, s.coverage_failed);
  }
  for (const auto& [name, n] : s.failed_by_error) out += fmt::format(" failed.{}={}", name, n);
  for (const auto& [name, n] : s.dropped_by_reason) out += fmt::format(" dropped.{}={}", name, n);
  return out;
}

}  // namespace offpath
