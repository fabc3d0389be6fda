// Constructed exchanges for the join tests: a client leg (client -> gateway) and upstream
// attempts (gateway -> backend) with chosen times, method, target, status and headers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "exchange/exchange.hpp"
#include "join/gateway_set.hpp"

namespace offpath::join_test {

inline IpAddress ip(const char* text) { return *parse_ip_address(text); }

inline constexpr const char* kClient = "192.0.2.1";
inline constexpr const char* kGateway = "192.0.2.2";
inline constexpr const char* kBackendA = "198.51.100.2";
inline constexpr const char* kBackendB = "198.51.100.3";

constexpr Timestamp ms(std::int64_t v) { return Timestamp{1'000'000'000 + v * 1000}; }

struct Spec {
  std::string method = "GET";
  std::string uri = "/";
  int status = 200;              // 0: no response
  std::int64_t req_start = 0;    // ms
  std::int64_t req_end = 1;
  std::int64_t resp_start = 10;
  std::int64_t resp_end = 11;
  Outcome outcome = Outcome::Complete;
  std::vector<std::pair<std::string, std::string>> request_headers = {};
  std::vector<std::pair<std::string, std::string>> response_headers = {};
};

inline Exchange make(const Endpoint& client, const Endpoint& server, const Spec& s) {
  Exchange e;
  e.client = client;
  e.server = server;
  e.connection_start = ms(s.req_start);
  e.outcome = s.outcome;
  e.request.emplace();
  e.request->method = s.method;
  e.request->uri = s.uri;
  e.request->first_byte = ms(s.req_start);
  e.request->headers_end = ms(s.req_end);
  e.request->last_byte = ms(s.req_end);
  e.request->complete = true;
  for (const auto& [n, v] : s.request_headers) e.request->headers.push_back({n, v});
  if (s.status > 0) {
    e.response.emplace();
    e.response->kind = MessageKind::Response;
    e.response->status = s.status;
    e.response->first_byte = ms(s.resp_start);
    e.response->headers_end = ms(s.resp_start);
    e.response->last_byte = ms(s.resp_end);
    e.response->complete = s.outcome == Outcome::Complete;
    for (const auto& [n, v] : s.response_headers) e.response->headers.push_back({n, v});
  }
  return e;
}

// A client leg on client port `port` (one connection per port).
inline Exchange client_leg(std::uint16_t port, const Spec& s) {
  return make({ip(kClient), port}, {ip(kGateway), 8080}, s);
}

// An upstream attempt from gateway port `port` to `backend`:8081.
inline Exchange upstream_leg(std::uint16_t port, const Spec& s, const char* backend = kBackendA,
                             std::uint16_t backend_port = 8081) {
  return make({ip(kGateway), port}, {ip(backend), backend_port}, s);
}

// A refused connect (the connection_refused event) at `at` ms.
inline Exchange refused(std::uint16_t port, std::int64_t at, const char* backend = kBackendA,
                        std::uint16_t backend_port = 8089) {
  Exchange e;
  e.client = {ip(kGateway), port};
  e.server = {ip(backend), backend_port};
  e.connection_start = ms(at);
  e.outcome = Outcome::ConnectionRefused;
  return e;
}

}  // namespace offpath::join_test
