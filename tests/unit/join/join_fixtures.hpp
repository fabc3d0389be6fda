// Constructed exchanges for the join tests: a client leg (client -> gateway) and upstream
// attempts (gateway -> backend) with chosen times, method, target, status and headers.
#pragma once

#include <gtest/gtest.h>

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

// Keeps what the join window hands on.
struct Collector final : ExchangeHandler {
  std::vector<Exchange> out;
  void on_exchange(Exchange&& ex) override { out.push_back(std::move(ex)); }
  std::vector<const Exchange*> leg(Leg l) const {
    std::vector<const Exchange*> v;
    for (const auto& e : out) {
      if (e.gateway && e.gateway->leg == l) v.push_back(&e);
    }
    return v;
  }
  // The client leg with this target.
  const Exchange& client(const std::string& uri) const {
    for (const auto& e : out) {
      if (e.gateway && e.gateway->leg == Leg::Client && e.request->uri == uri) return e;
    }
    ADD_FAILURE() << "no client leg " << uri;
    return out.front();
  }
  const std::vector<UpstreamTry>& tries(const std::string& uri) const {
    return client(uri).gateway->tries;
  }
};

// Microseconds after ms(0): the scale of a gateway's event loop.
constexpr Timestamp us(std::int64_t v) { return Timestamp{ms(0).micros + v}; }

// A client leg that arrived (whole request) at `arrive` us and was answered at `answer`.
inline Exchange client_at(std::uint16_t port, const std::string& uri, int status,
                          std::int64_t arrive, std::int64_t answer) {
  Exchange e = client_leg(port, {.uri = uri, .status = status});
  e.request->first_byte = e.request->headers_end = e.request->last_byte = us(arrive);
  e.response->first_byte = e.response->headers_end = us(answer);
  e.response->last_byte = us(answer + 5);
  return e;
}

// An attempt on a new connection: SYN at `syn` us, request at `syn` + 10, answered at
// `answer` (0: reset before any answer, at `syn` + 20).
inline Exchange attempt_at(std::uint16_t port, const std::string& uri, std::int64_t syn,
                           std::int64_t answer, const char* backend = kBackendB) {
  Exchange e = upstream_leg(port, {.uri = uri, .status = answer > 0 ? 200 : 0}, backend);
  e.connection_start = us(syn);
  e.request->first_byte = e.request->headers_end = e.request->last_byte = us(syn + 10);
  if (answer > 0) {
    e.response->first_byte = e.response->headers_end = us(answer);
    e.response->last_byte = us(answer + 5);
  } else {
    e.outcome = Outcome::ConnectionReset;
  }
  return e;
}

// A refused connect whose SYN left at `syn` us.
inline Exchange refused_at(std::uint16_t port, std::int64_t syn) {
  Exchange e = refused(port, 0);
  e.connection_start = us(syn);
  return e;
}

}  // namespace offpath::join_test
