// Worker: owns a flow table and everything in it (connections, reassemblers, parsers,
// pairers); nothing in a worker is shared with another thread. Fed decoded segments of
// the flows hashed to it; drives timeouts on packet time; emits exchanges through its
// ExchangeOutput. One thread per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "config/config.hpp"
#include "decode/segment.hpp"
#include "flow/flow_table.hpp"
#include "pipeline/connection.hpp"
#include "pipeline/connect_failures.hpp"
#include "pipeline/exchange_output.hpp"

namespace offpath {

struct WorkerCounters {
  std::uint64_t segments = 0;
  std::uint64_t segments_without_flow = 0;  // pure ACK/FIN/RST of a flow we do not track
  std::uint64_t flows_created = 0;
  std::uint64_t flows_closed = 0;
  std::uint64_t flows_timed_out = 0;
  std::uint64_t flows_evicted = 0;
  std::uint64_t flows_evicted_for_memory = 0;  // of flows_evicted: --max-buffered-bytes
  std::uint64_t flows_reused = 0;  // a new handshake on the 4-tuple of a finished flow
  ConnectionCounters connections;  // summed over finished connections
};

class Worker {
 public:
  Worker(const Config& config, ExchangeHandler& output);
  void on_segment(const Segment& seg);
  // Advances packet time without a packet (live sources on an idle link).
  void on_time(Timestamp now);
  // Ends every flow with `why` (end of capture, shutdown).
  void finish_all(Outcome why, Timestamp now);

  WorkerCounters counters() const;
  std::size_t active_flows() const { return table_.size(); }
  Timestamp now() const { return now_; }

 private:
  using Table = FlowTable<std::optional<Connection>>;  // connections live in the table's entries
  void sweep(Timestamp now);
  void retire(Table::Entry& entry);
  void evict_oldest(Timestamp now);

  const Config& config_;
  ExchangeHandler& output_;
  std::unique_ptr<ConnectFailureDetector> connect_failures_;  // --connect-failures
  ParserLimits limits_;
  Table table_;
  WorkerCounters counters_;
  std::uint64_t held_total_ = 0;  // out-of-order bytes held by all flows of this worker
  Timestamp now_;
  Timestamp last_sweep_;
};

}  // namespace offpath
