// Pipeline: what happens to a frame after capture. Decodes it on the capture thread and
// hands the segment to the worker that owns its flow. This build runs one worker inline
// on the capture thread (deterministic order, used by replays and tests).
#pragma once

#include <memory>
#include <string>

#include "capture/source.hpp"
#include "config/config.hpp"
#include "decode/decoder.hpp"
#include "exchange/classify.hpp"
#include "output/sink.hpp"
#include "pipeline/exchange_output.hpp"
#include "pipeline/worker.hpp"

namespace offpath {

struct PipelineCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeOutcome::kCount)> decode{};
  WorkerCounters worker;
  OutputCounters output;
  std::size_t active_flows = 0;
};

class Pipeline final : public FrameHandler {
 public:
  Pipeline(const Config& config, const ClassifyOptions& classify, Sink& sink);
  void on_frame(const Frame& frame) override;
  void on_idle(Timestamp now) override;
  // Ends every open flow (end of capture or shutdown) so that open requests are emitted.
  void finish(Outcome why);
  PipelineCounters counters() const;

 private:
  Decoder decoder_;
  ExchangeOutput output_;
  Worker worker_;
  Timestamp last_ts_;
};

// The end-of-run summary printed on stderr.
std::string format_summary(const PipelineCounters& p, const SourceStats& source,
                           const SinkStats& sink);

}  // namespace offpath
