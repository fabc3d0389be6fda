#include "pipeline/connect_failures.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "pipeline/connection.hpp"

namespace offpath {

ConnectFailureDetector::ConnectFailureDetector(std::int64_t timeout_micros, ExchangeHandler& out)
    : timeout_micros_(timeout_micros), out_(out) {}

void ConnectFailureDetector::on_segment(const Segment& seg) {
  Side sender;
  FlowKey key = FlowKey::of(seg, sender);
  auto it = attempts_.find(key);
  const bool syn = seg.has(tcp_flags::kSyn);
  const bool ack = seg.has(tcp_flags::kAck);
  if (it == attempts_.end()) {
    if (!syn || ack) return;
    if (attempts_.size() >= kMaxAttempts) {
      ++counters_.untracked;
      return;
    }
    Attempt a;
    a.key = key;
    a.client = sender;
    a.isn = seg.seq;
    a.syns = 1;
    a.first_syn = seg.ts;
    attempts_.emplace(key, a);
    ++counters_.attempts;
    return;
  }
  Attempt& a = it->second;
  if (sender == a.client) {
    if (syn && !ack) {
      ++a.syns;  // a retransmission (or a new ISN: the client is still trying)
    } else if (seg.payload_len != 0 || ack) {
      ++counters_.connected;  // the client saw a SYN-ACK that the capture missed
      attempts_.erase(it);
    }
    return;
  }
  if (seg.has(tcp_flags::kRst)) {
    // RFC 9293 3.10.7.3: in SYN-SENT a reset is acceptable when it acknowledges the SYN.
    if (!ack || seg.ack == a.isn + 1) {
      report(a, Outcome::ConnectionRefused, seg.ts);
      ++counters_.refused;
      attempts_.erase(it);
    }
    return;
  }
  if ((syn && ack) || seg.payload_len != 0) {
    ++counters_.connected;
    attempts_.erase(it);
  }
}

void ConnectFailureDetector::on_time(Timestamp now) {
  std::vector<Attempt> expired;
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    if (now.micros - it->second.first_syn.micros >= timeout_micros_) {
      expired.push_back(it->second);
      it = attempts_.erase(it);
    } else {
      ++it;
    }
  }
  // Oldest first, so that the records come out in capture order.
  std::sort(expired.begin(), expired.end(),
            [](const Attempt& a, const Attempt& b) { return a.first_syn < b.first_syn; });
  for (const auto& a : expired) {
    report(a, Outcome::ConnectTimeout, now);
    ++counters_.timed_out;
  }
}

void ConnectFailureDetector::finish(Timestamp now) {
  std::vector<Attempt> left;
  for (const auto& [key, a] : attempts_) {
    if (a.syns >= 2) left.push_back(a);
  }
  attempts_.clear();
  std::sort(left.begin(), left.end(),
            [](const Attempt& a, const Attempt& b) { return a.first_syn < b.first_syn; });
  for (const auto& a : left) {
    report(a, Outcome::ConnectTimeout, now);
    ++counters_.timed_out;
  }
}

void ConnectFailureDetector::report(const Attempt& a, Outcome outcome, Timestamp now) {
  Exchange ex;
  ex.client = a.key.endpoint(a.client);
  ex.server = a.key.endpoint(other(a.client));
  ex.connection_id = connection_id(a.key, a.first_syn);
  ex.connection_start = a.first_syn;
  ex.outcome = outcome;
  const double waited_ms = static_cast<double>(now.micros - a.first_syn.micros) / 1000.0;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s after %u SYN%s, %.3f ms after the first",
                outcome == Outcome::ConnectionRefused ? "RST" : "no SYN-ACK", a.syns,
                a.syns == 1 ? "" : "s", waited_ms);
  ex.error_detail = buf;
  out_.on_exchange(std::move(ex));
}

}  // namespace offpath
