#include "exchange/exchange.hpp"

namespace offpath {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Complete: return "complete";
    case Outcome::ConnectionReset: return "connection_reset";
    case Outcome::ConnectionClosed: return "connection_closed";
    case Outcome::CaptureEnded: return "capture_ended";
    case Outcome::Timeout: return "timeout";
    case Outcome::Evicted: return "evicted";
    case Outcome::ParseError: return "parse_error";
    case Outcome::OrphanResponse: return "orphan_response";
    case Outcome::ConnectionRefused: return "connection_refused";
    case Outcome::ConnectTimeout: return "connect_timeout";
    case Outcome::StreamReset: return "stream_reset";
    case Outcome::GoAway: return "goaway";
    case Outcome::kCount: break;
  }
  return "unknown";
}

std::string_view anomaly::name(std::uint32_t bit_index) {
  static constexpr std::string_view kNames[kCount] = {
      "gap", "request_incomplete", "response_incomplete", "headers_truncated",
      "uri_truncated", "overlap_conflict", "mid_stream", "upgraded", "ambiguous_length",
      "hpack_desync"};
  return bit_index < kCount ? kNames[bit_index] : "unknown";
}

Timestamp Exchange::start() const {
  if (request) return request->first_byte;
  if (response) return response->first_byte;
  return connection_start;
}

Timestamp Exchange::end() const {
  if (response) return response->last_byte.micros != 0 ? response->last_byte
                                                       : response->first_byte;
  if (request) return request->last_byte.micros != 0 ? request->last_byte : request->first_byte;
  return connection_start;
}

}  // namespace offpath
