// Exchange: one HTTP request and what became of it (its response, or why none came),
// the unit offpath classifies, encodes and publishes. Built by the Pairer on the worker
// thread that owns the connection, then moved to the output stage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.hpp"
#include "flow/flow_key.hpp"
#include "http/message.hpp"

namespace offpath {

// How the exchange ended. Also a metric label: append only.
enum class Outcome : std::uint8_t {
  Complete = 0,       // a final response was seen
  ConnectionReset,    // RST before the response
  ConnectionClosed,   // FIN (or close) before the response
  CaptureEnded,       // the capture ended before the response
  Timeout,            // no response within the response timeout, or the flow went idle
  Evicted,            // the flow was evicted to stay within memory limits
  ParseError,         // llhttp rejected the request or the response
  OrphanResponse,     // a response whose request was not seen
  ConnectionRefused,  // no exchange: a SYN answered by RST (--connect-failures)
  ConnectTimeout,     // no exchange: SYNs never answered (--connect-failures)
  StreamReset,        // HTTP/2: RST_STREAM before the stream ended (error_detail: its code)
  GoAway,             // HTTP/2: GOAWAY with a last stream id below the stream's
  kCount
};

std::string_view to_string(Outcome outcome);

// Things worth knowing about an exchange that do not change its outcome.
namespace anomaly {
inline constexpr std::uint32_t kGap = 1u << 0;               // a stream gap touched it
inline constexpr std::uint32_t kRequestIncomplete = 1u << 1;  // request not seen to its end
inline constexpr std::uint32_t kResponseIncomplete = 1u << 2; // response not seen to its end
inline constexpr std::uint32_t kHeadersTruncated = 1u << 3;   // header limit hit
inline constexpr std::uint32_t kUriTruncated = 1u << 4;       // URI limit hit
inline constexpr std::uint32_t kOverlapConflict = 1u << 5;    // retransmissions disagreed
inline constexpr std::uint32_t kMidStream = 1u << 6;          // connection picked up mid-stream
inline constexpr std::uint32_t kUpgraded = 1u << 7;           // connection left HTTP (101/CONNECT)
inline constexpr std::uint32_t kAmbiguousLength = 1u << 8;    // Transfer-Encoding and Content-Length
inline constexpr std::uint32_t kHpackDesync = 1u << 9;        // HTTP/2 header block not decodable
inline constexpr std::uint32_t kCount = 10;
std::string_view name(std::uint32_t bit_index);
}  // namespace anomaly

// gRPC (content-type application/grpc*): from the path and the response trailers.
struct GrpcInfo {
  int status = -1;       // grpc-status, -1 when the response carried none
  std::string message;   // grpc-message, percent-decoded
  std::string service;   // "/pkg.Service/Method" -> "pkg.Service"
  std::string method;    // -> "Method"
};

struct Exchange {
  Endpoint client;
  Endpoint server;
  std::uint64_t connection_id = 0;    // stable hash of the connection (key + start time)
  std::uint32_t index = 0;            // 0-based position of the exchange in its connection
  Timestamp connection_start;         // first packet of the connection
  std::optional<HttpMessage> request;
  std::optional<HttpMessage> response;
  std::vector<int> interim_statuses;  // 1xx responses before the final one
  Outcome outcome = Outcome::Complete;
  std::string error_detail;           // llhttp's reason for ParseError
  std::uint32_t anomalies = 0;
  std::uint8_t degraded = 0;          // memory shedding level when the record was built
  std::optional<GrpcInfo> grpc;       // set for gRPC exchanges (HTTP/2)

  // Request start if a request was seen, else response start.
  Timestamp start() const;
  // Response end if a response was seen, else the last request byte.
  Timestamp end() const;
};

class ExchangeHandler {
 public:
  virtual ~ExchangeHandler() = default;
  virtual void on_exchange(Exchange&& exchange) = 0;
};

}  // namespace offpath
