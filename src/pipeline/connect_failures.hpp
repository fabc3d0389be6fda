// ConnectFailureDetector (--connect-failures): finds connection attempts that never
// became connections and reports each as an exchange-less record (request and response
// null, error_type backend_unavailable):
//   - connection_refused: the server answered the SYN with a RST;
//   - connect_timeout: no SYN-ACK within the response timeout (--response-timeout), or,
//     at the end of the capture, a SYN that was retransmitted and still unanswered. A
//     single SYN seen just before the capture ends is not reported: nothing says it
//     would have failed.
// An attempt ends quietly when a SYN-ACK or any payload is seen. At most kMaxAttempts
// attempts are followed at once; further SYNs are counted as untracked.
// One per worker, fed every segment of that worker and its packet time; worker thread.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "decode/segment.hpp"
#include "exchange/exchange.hpp"
#include "flow/flow_key.hpp"

namespace offpath {

struct ConnectFailureCounters {
  std::uint64_t attempts = 0;   // SYNs that opened an attempt
  std::uint64_t connected = 0;  // ended by a SYN-ACK or payload
  std::uint64_t refused = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t untracked = 0;  // SYNs beyond kMaxAttempts
};

class ConnectFailureDetector {
 public:
  static constexpr std::size_t kMaxAttempts = 65536;

  ConnectFailureDetector(std::int64_t timeout_micros, ExchangeHandler& out);
  void on_segment(const Segment& seg);
  // Reports attempts unanswered for the timeout; call at least once a second of packet time.
  void on_time(Timestamp now);
  // End of capture or shutdown: reports retransmitted attempts, forgets the rest.
  void finish(Timestamp now);
  const ConnectFailureCounters& counters() const { return counters_; }

 private:
  struct Attempt {
    FlowKey key;
    Side client = Side::Lo;
    std::uint32_t isn = 0;
    std::uint32_t syns = 0;
    Timestamp first_syn;
  };
  void report(const Attempt& a, Outcome outcome, Timestamp now);

  std::int64_t timeout_micros_;
  ExchangeHandler& out_;
  std::unordered_map<FlowKey, Attempt, FlowKeyHash> attempts_;
  ConnectFailureCounters counters_;
};

}  // namespace offpath
