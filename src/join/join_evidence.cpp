#include "join/join_evidence.hpp"

#include "join/failure_origin.hpp"

namespace offpath {
namespace {

std::string_view header_of(const HttpMessage& m, std::string_view name) {
  const std::string* v = m.header(name);
  return v != nullptr ? std::string_view(*v) : std::string_view();
}

// traceparent: version-traceid-parentid-flags; the trace id is the second field.
std::string_view trace_id(std::string_view traceparent) {
  const std::size_t a = traceparent.find('-');
  if (a == std::string_view::npos) return {};
  const std::size_t b = traceparent.find('-', a + 1);
  if (b == std::string_view::npos) return {};
  return traceparent.substr(a + 1, b - a - 1);
}

std::string_view id_of(const HttpMessage& m, std::string_view join_header) {
  if (!join_header.empty()) {
    if (auto v = header_of(m, join_header); !v.empty()) return v;
  }
  if (auto v = header_of(m, "x-request-id"); !v.empty()) return v;
  if (auto v = header_of(m, "x-correlation-id"); !v.empty()) return v;
  return trace_id(header_of(m, "traceparent"));
}

bool boundary(std::string_view rest) {
  return rest.empty() || rest.front() == '/' || rest.front() == '?';
}

}  // namespace

std::string_view request_id(const Exchange& ex, std::string_view join_header) {
  if (ex.request) {
    if (auto v = id_of(*ex.request, join_header); !v.empty()) return v;
  }
  if (ex.response) return id_of(*ex.response, join_header);
  return {};
}

bool answered_late(const Exchange& client, const Exchange& up) {
  if (!up.response) return false;
  if (!client.response) return client_went_away(client);
  return client.response->first_byte < up.response->first_byte;
}

bool timing_fits(const Exchange& client, const Exchange& up) {
  if (!client.request) return false;
  const Timestamp headers_done = client.request->headers_end.micros != 0
                                     ? client.request->headers_end
                                     : client.request->first_byte;
  if (up.start() < headers_done) return false;
  // Without a client response the client went away (or the capture ended) while the
  // gateway was still working: an attempt it made after the request fits, whenever it
  // ended (nginx's 499: the gateway drops the attempt, or gets its answer too late).
  if (!client.response) return true;
  // The attempt starts before the client response does. Where it ends says nothing: a
  // gateway streams a body on as it comes (the client response starts with the backend's
  // head, and both bodies then run side by side), and an attempt the gateway gave up on
  // (it answered the client first, then closed) may still get its late answer.
  return !(client.response->first_byte < up.start());
}

bool PrefixRewrites::add(std::string_view spec) {
  const std::size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || spec[0] != '/') return false;
  add(std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1)));
  return true;
}

void PrefixRewrites::add(std::string from, std::string to) {
  for (const auto& r : rewrites_) {
    if (r.first == from && r.second == to) return;
  }
  rewrites_.emplace_back(std::move(from), std::move(to));
}

bool PrefixRewrites::fits(std::string_view client, std::string_view up) const {
  if (client == up) return true;
  for (const auto& [from, to] : rewrites_) {
    if (!client.starts_with(from) || !up.starts_with(to)) continue;
    const std::string_view a = client.substr(from.size());
    const std::string_view b = up.substr(to.size());
    if (a == b && boundary(a)) return true;
  }
  return false;
}

void PrefixRewrites::swapped(std::string_view target, bool upstream,
                             std::vector<std::string>& out) const {
  out.clear();
  for (const auto& [from, to] : rewrites_) {
    const std::string& have = upstream ? from : to;
    const std::string& make = upstream ? to : from;
    if (!target.starts_with(have)) continue;
    const std::string_view rest = target.substr(have.size());
    if (!boundary(rest)) continue;
    out.push_back(make);
    out.back() += rest;
  }
}

bool PrefixRewrites::swap_of(std::string_view client, std::string_view up, std::string& from,
                             std::string& to) {
  if (client == up || client.empty() || up.empty()) return false;
  std::size_t tail = 0;  // length of the common tail
  while (tail < client.size() && tail < up.size() &&
         client[client.size() - 1 - tail] == up[up.size() - 1 - tail]) {
    ++tail;
  }
  // Shorten the tail until it starts at a boundary in both.
  while (tail > 0 && !boundary(client.substr(client.size() - tail))) --tail;
  if (tail == 0) return false;  // nothing in common: a swap of whole targets says nothing
  from = std::string(client.substr(0, client.size() - tail));
  to = std::string(up.substr(0, up.size() - tail));
  return !from.empty() && from.front() == '/' && (to.empty() || to.front() == '/') &&
         from != to;
}

bool PrefixRewrites::learn(std::string_view client, std::string_view up) {
  if (fits(client, up)) return false;
  std::string from, to;
  if (!swap_of(client, up, from, to) || rewrites_.size() >= kMaxRewrites) return false;
  add(std::move(from), std::move(to));
  return true;
}

}  // namespace offpath
