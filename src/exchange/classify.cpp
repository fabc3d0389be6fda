#include "exchange/classify.hpp"

namespace offpath {

std::string_view to_string(ErrorType type) {
  switch (type) {
    case ErrorType::None: return "none";
    case ErrorType::ClientError: return "client_error";
    case ErrorType::ServerError: return "server_error";
    case ErrorType::BackendUnavailable: return "backend_unavailable";
    case ErrorType::ParseError: return "parse_error";
    case ErrorType::Slow: return "slow";
    case ErrorType::kCount: break;
  }
  return "unknown";
}

double latency_ms(const Exchange& ex) {
  if (!ex.request || !ex.response) return -1;
  Timestamp end = ex.response->last_byte.micros != 0 ? ex.response->last_byte
                                                     : ex.response->headers_end;
  return millis_between(ex.request->first_byte, end);
}

ErrorType grpc_error_type(int grpc_status) {
  switch (grpc_status) {
    case 4:   // DEADLINE_EXCEEDED
    case 14:  // UNAVAILABLE
      return ErrorType::BackendUnavailable;
    case 1: case 3: case 5: case 6: case 7: case 9: case 11: case 16:
      return ErrorType::ClientError;
    default:
      return ErrorType::ServerError;
  }
}

Classification classify(const Exchange& ex, const ClassifyOptions& options) {
  Classification c;
  const int status = ex.response ? ex.response->status : 0;
  const bool grpc_failed = ex.grpc && ex.grpc->status >= 0 && ex.grpc->status <= 16 &&
                           (options.grpc_failed_codes & (1u << ex.grpc->status)) != 0;
  if (grpc_failed && status > 0 && status < 300) {
    // gRPC hides its failures behind a 200: the status in the trailers decides.
    c.failed = true;
    c.error_type = grpc_error_type(ex.grpc->status);
  } else if (ex.grpc && ex.grpc->status < 0 && status > 0 && status < 300 &&
             ex.outcome == Outcome::Complete) {
    // A gRPC response that ended without trailers: the call's result is unknown.
    c.failed = true;
    c.error_type = ErrorType::BackendUnavailable;
  } else if (status > 0) {
    for (const auto& r : options.failed_status) {
      if (r.contains(status)) {
        c.failed = true;
        if (status == 502 || status == 503 || status == 504) {
          c.error_type = ErrorType::BackendUnavailable;
        } else if (status >= 500) {
          c.error_type = ErrorType::ServerError;
        } else {
          c.error_type = ErrorType::ClientError;
        }
        break;
      }
    }
  } else if (ex.outcome == Outcome::ParseError) {
    c.error_type = ErrorType::ParseError;
    c.failed = (options.failed_outcomes & (1u << static_cast<unsigned>(ex.outcome))) != 0;
  } else if (ex.outcome != Outcome::Complete && ex.outcome != Outcome::OrphanResponse) {
    c.error_type = ErrorType::BackendUnavailable;
    c.failed = (options.failed_outcomes & (1u << static_cast<unsigned>(ex.outcome))) != 0;
  }
  // A response cut short by a reset, a close or a timeout never reached the client whole,
  // whatever its status line said: it fails like no response at all. One that broke
  // after its status line (a 200 with a malformed header) is a parse error.
  if (!c.failed && ex.response && !ex.response->complete && ex.outcome != Outcome::Complete &&
      ex.outcome != Outcome::OrphanResponse &&
      (options.failed_outcomes & (1u << static_cast<unsigned>(ex.outcome))) != 0) {
    c.failed = true;
    c.error_type =
        ex.outcome == Outcome::ParseError ? ErrorType::ParseError : ErrorType::BackendUnavailable;
  }
  if (!c.failed && options.slow_ms > 0) {
    double ms = latency_ms(ex);
    if (ms > options.slow_ms) {
      c.failed = true;
      c.error_type = ErrorType::Slow;
    }
  }
  if (!c.failed) c.error_type = ErrorType::None;
  return c;
}

}  // namespace offpath
