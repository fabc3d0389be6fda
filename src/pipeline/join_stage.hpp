// JoinStage: where the workers' exchanges of gateway legs meet (src/join/). Each worker
// lane sends its exchanges through a JoinFeed: an exchange of no gateway leg goes
// straight to the lane's ExchangeOutput as before; one of a client or upstream leg goes
// to the stage's JoinWindow, which hands it, joined or not, to the stage's own
// ExchangeOutput. The window runs on packet time: the watermark is the lowest packet time
// the lanes have reported (each lane reports after each batch).
//
// With one worker everything runs on the capture thread, without a lock, and the stage
// writes through the lane's sink buffer, so records keep a deterministic order. With N
// workers the worker threads call in under the stage's mutex: the capture thread never
// does, so the join never blocks capture (a worker that waits on the lock only lets its
// own queue fill, and a full queue of a live capture is counted as dropped).
// live_counters() may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "common/memory_budget.hpp"
#include "join/auto_gateways.hpp"
#include "join/join_config.hpp"
#include "join/join_window.hpp"
#include "metrics/snapshot.hpp"
#include "output/file_sink.hpp"
#include "pipeline/exchange_output.hpp"

namespace offpath {

struct JoinStageCounters {
  JoinCounters join;
  OutputCounters output;  // of the exchanges that went through the join
};

class JoinStage final : private ExchangeHandler {
 public:
  // Threaded (N workers): the stage writes to `sink` through a buffer of its own. Inline
  // (one worker): it writes through the lane's sink, given with use_sink() once the lane
  // exists and before the first exchange.
  JoinStage(const Config& config, JoinSetup setup, const ClassifyOptions& classify, Sink& sink,
            unsigned lanes, bool threaded, bool live);
  void use_sink(Sink& sink);
  // The leg of an exchange by the gateways given, or by the candidates (--gateway auto)
  // as this exchange teaches them; any thread.
  Leg leg_of(const Exchange& ex) {
    const Leg leg = gateways_.leg_of(ex.client, ex.server);
    if (leg != Leg::None || auto_.empty()) return leg;
    return auto_.observe(ex.client, ex.server, ex.request.has_value());
  }
  // Whether records say "leg" (null for other exchanges): some gateway is known.
  bool gateways_known() const { return !gateways_.empty() || auto_.confirmed(); }
  // An exchange of no leg that is a refused or unanswered connect nobody asked to see.
  bool unasked(const Exchange& ex) const {
    return config_.gateway.connect_failures_for_join_only &&
           (ex.outcome == Outcome::ConnectionRefused || ex.outcome == Outcome::ConnectTimeout);
  }
  void on_exchange(unsigned lane, Exchange&& ex, Leg leg);
  void on_time(unsigned lane, Timestamp now);
  // After every lane has finished: decides what still waits and flushes the output.
  void finish();
  JoinStageCounters counters() const;  // exact after finish()
  bool live_counters(JoinStageCounters& out) const { return published_.read(out); }
  std::uint64_t bytes() const;  // held by the window (accounted in the memory budget)

 private:
  Timestamp watermark() const;
  void account();  // the window's bytes into the memory budget (exchanges pool)
  JoinStageCounters current_counters() const;
  void publish();
  void on_exchange(Exchange&& ex) override { output_->on_exchange(std::move(ex)); }
  OutputCounters output_counters() const {
    return output_ ? output_->counters() : OutputCounters{};
  }

  GatewaySet gateways_;
  AutoGateways auto_;
  bool threaded_;
  bool live_;
  const Config& config_;
  ClassifyOptions classify_;
  std::unique_ptr<FileSinkBuffer> buffer_;  // N workers and a FileSink
  std::unique_ptr<ExchangeOutput> output_;
  JoinWindow window_;
  std::vector<Timestamp> lane_now_;
  mutable std::mutex mu_;
  SnapshotSlot<JoinStageCounters> published_;
  unsigned calls_since_publish_ = 0;
  MemoryAccount memory_;         // config.memory: what the window holds
  std::int64_t accounted_ = 0;   // window bytes memory_ holds
};

// A lane's exchange handler: gateway legs to the stage, everything else to the lane's
// output. Worker thread of its lane.
class JoinFeed final : public ExchangeHandler {
 public:
  JoinFeed(JoinStage& stage, unsigned lane, ExchangeHandler& direct)
      : stage_(stage), lane_(lane), direct_(direct) {}
  void on_exchange(Exchange&& ex) override {
    const Leg leg = stage_.leg_of(ex);
    if (leg != Leg::None) {
      stage_.on_exchange(lane_, std::move(ex), leg);
      return;
    }
    if (stage_.unasked(ex)) return;  // followed for the join only, as without it
    if (stage_.gateways_known()) ex.gateway.emplace();  // "leg": null: neither leg
    direct_.on_exchange(std::move(ex));
  }

 private:
  JoinStage& stage_;
  unsigned lane_;
  ExchangeHandler& direct_;
};

}  // namespace offpath
