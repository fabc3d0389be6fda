// Classification: is an exchange a failure, and of which kind (the error_type of the
// OpenResty failed-request logger: client_error, server_error, backend_unavailable, plus
// parse_error and slow). Pure function of the exchange and the options; worker thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "exchange/exchange.hpp"

namespace offpath {

enum class ErrorType : std::uint8_t {
  None = 0,
  ClientError,         // 4xx (or another failed status below 500)
  ServerError,         // 5xx other than 502/503/504
  BackendUnavailable,  // 502, 503, 504, or no response at all
  ParseError,          // the traffic was not valid HTTP and no status was seen
  Slow,                // slower than the latency limit
  kCount
};

std::string_view to_string(ErrorType type);

struct StatusRange {
  int lo = 0;
  int hi = 0;
  bool contains(int s) const { return s >= lo && s <= hi; }
};

struct ClassifyOptions {
  std::vector<StatusRange> failed_status = {{400, 599}};
  double slow_ms = 0;  // 0 = no latency limit
  // Which outcomes without a response count as failed (indexed by Outcome).
  std::uint32_t failed_outcomes = (1u << static_cast<unsigned>(Outcome::ConnectionReset)) |
                                  (1u << static_cast<unsigned>(Outcome::ConnectionClosed)) |
                                  (1u << static_cast<unsigned>(Outcome::CaptureEnded)) |
                                  (1u << static_cast<unsigned>(Outcome::Timeout)) |
                                  (1u << static_cast<unsigned>(Outcome::Evicted)) |
                                  (1u << static_cast<unsigned>(Outcome::ParseError)) |
                                  (1u << static_cast<unsigned>(Outcome::StreamReset)) |
                                  (1u << static_cast<unsigned>(Outcome::GoAway));
  // gRPC status codes (bit per code, 0-16) that make an exchange failed: all but OK.
  std::uint32_t grpc_failed_codes = 0x1fffeu;
};

// error_type of a failed gRPC status: UNAVAILABLE and DEADLINE_EXCEEDED are
// backend_unavailable; codes about the call itself (CANCELLED, INVALID_ARGUMENT,
// NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE,
// UNAUTHENTICATED) client_error; the rest server_error.
ErrorType grpc_error_type(int grpc_status);

struct Classification {
  ErrorType error_type = ErrorType::None;
  bool failed = false;
};

// Latency in ms from the first request byte to the last response byte, or < 0 if the
// exchange has no request or no response.
double latency_ms(const Exchange& ex);

Classification classify(const Exchange& ex, const ClassifyOptions& options);

}  // namespace offpath
