#include "join/join_window.hpp"

#include <algorithm>
#include <vector>

#include "join/failure_origin.hpp"

namespace offpath {
namespace {

std::uint64_t message_bytes(const HttpMessage& m) {
  std::uint64_t n = sizeof(HttpMessage) + m.method.capacity() + m.uri.capacity() +
                    m.reason.capacity() + m.body.capacity();
  for (const auto& h : m.headers) n += sizeof(HttpHeader) + h.name.capacity() + h.value.capacity();
  return n;
}

UpstreamTry try_of(const Exchange& client, const Exchange& up) {
  UpstreamTry t;
  t.addr = up.server;
  // A status line whose header block never completed (the backend reset or closed in the
  // middle) is no answer for a gateway: nginx logs its own 502 for it.
  t.status = up.response && up.response->headers_end.micros != 0 ? up.response->status : 0;
  t.outcome = up.outcome;
  t.start = up.start();
  t.end = up.end();
  if (answered_late(client, up)) {
    // The gateway had given up: for it the attempt timed out unanswered (or, the client
    // gone without a response, went unanswered: the attempt keeps its own outcome).
    t.status = 0;
    if (client.response) {
      t.outcome = Outcome::Timeout;
      t.end = client.response->first_byte;
    }
  } else if (up.request && up.response) {
    t.latency_ms = latency_ms(up);
    t.ttfb_ms = millis_between(up.request->first_byte, up.response->first_byte);
  }
  if (up.request) {
    if (const std::string* h = up.request->header("host")) t.host = *h;
    t.uri = up.request->uri;
  }
  return t;
}

// An attempt that did not succeed, so that the gateway may have tried again.
bool may_retry_after(const Exchange& up) {
  return !up.response || up.response->status >= 500 || up.outcome != Outcome::Complete;
}

}  // namespace

std::uint64_t estimated_bytes(const Exchange& ex) {
  std::uint64_t n = sizeof(Exchange) + ex.error_detail.capacity();
  if (ex.request) n += message_bytes(*ex.request);
  if (ex.response) n += message_bytes(*ex.response);
  return n;
}

JoinWindow::JoinWindow(JoinOptions options, ClassifyOptions classify, ExchangeHandler& out)
    : options_(std::move(options)), classify_(std::move(classify)), out_(out) {}

void JoinWindow::on_exchange(Exchange&& ex, Leg leg, Timestamp watermark) {
  Pending p;
  p.id = std::string(request_id(ex, options_.join_header));
  p.bytes = estimated_bytes(ex) + p.id.capacity();
  p.ex = std::move(ex);
  bytes_ += p.bytes;
  if (leg == Leg::Client) {
    clients_.push_back(std::move(p));
    index_client(clients_.back());
  } else {
    upstreams_.push_back(std::move(p));
    index_upstream(std::prev(upstreams_.end()));
  }
  shrink_to_limits();
  advance(watermark);
}

void JoinWindow::shrink_to_limits() {
  while (!clients_.empty() || !upstreams_.empty()) {
    const std::size_t n = clients_.size() + upstreams_.size();
    if (n <= options_.max_exchanges && bytes_ <= options_.max_bytes) break;
    ++counters_.overflows;
    if (!clients_.empty() &&
        (upstreams_.empty() || !(upstreams_.front().ex.end() < clients_.front().ex.end()))) {
      decide_client(clients_.front());
      clients_.pop_front();
    } else {
      expire_front_upstream();
    }
  }
  counters_.pending = clients_.size() + upstreams_.size();
  counters_.pending_bytes = bytes_;
}

void JoinWindow::advance(Timestamp watermark) {
  while (!clients_.empty() &&
         clients_.front().ex.end().micros + options_.settle_micros <= watermark.micros) {
    decide_client(clients_.front());
    clients_.pop_front();
  }
  while (!upstreams_.empty() &&
         upstreams_.front().ex.end().micros + options_.window_micros <= watermark.micros) {
    expire_front_upstream();
  }
  counters_.pending = clients_.size() + upstreams_.size();
  counters_.pending_bytes = bytes_;
}

void JoinWindow::finish() {
  while (!clients_.empty()) {
    decide_client(clients_.front());
    clients_.pop_front();
  }
  while (!upstreams_.empty()) {
    expire_front_upstream();
  }
  counters_.pending = 0;
  counters_.pending_bytes = bytes_;
}

namespace {

template <typename Map, typename Value>
void erase_entry(Map& map, std::string_view key, const Value& value) {
  auto [lo, hi] = map.equal_range(key);
  for (auto i = lo; i != hi; ++i) {
    if (i->second == value) {
      map.erase(i);
      return;
    }
  }
}

}  // namespace

void JoinWindow::index_upstream(It u) {
  if (u->ex.request) {
    upstream_by_target_.emplace(u->ex.request->uri, u);
  } else {
    connect_by_end_.emplace(u->ex.end().micros, u);
  }
  if (!u->id.empty()) upstream_by_id_.emplace(u->id, u);
}

void JoinWindow::unindex_upstream(It u) {
  if (u->ex.request) {
    erase_entry(upstream_by_target_, u->ex.request->uri, u);
  } else {
    auto [lo, hi] = connect_by_end_.equal_range(u->ex.end().micros);
    for (auto i = lo; i != hi; ++i) {
      if (i->second == u) {
        connect_by_end_.erase(i);
        break;
      }
    }
  }
  if (!u->id.empty()) erase_entry(upstream_by_id_, u->id, u);
}

void JoinWindow::index_client(const Pending& c) {
  if (c.ex.request) client_by_target_.emplace(c.ex.request->uri, &c);
}

void JoinWindow::unindex_client(const Pending& c) {
  if (c.ex.request) erase_entry(client_by_target_, c.ex.request->uri, &c);
}

bool JoinWindow::fits(const Pending& client, const Pending& up, bool any_uri) const {
  if (!client.id.empty() && !up.id.empty()) return client.id == up.id;
  if (!timing_fits(client.ex, up.ex)) return false;
  if (!up.ex.request) return false;  // a connection attempt: see attach_connects()
  const HttpMessage& c = *client.ex.request;
  const HttpMessage& u = *up.ex.request;
  if (c.method != u.method) return false;
  return any_uri || options_.rewrites.fits(c.uri, u.uri);
}

void JoinWindow::attach_connects(const Pending& client, std::vector<It>& chosen) {
  // A connection attempt (a refused or unanswered connect) carries no target and no id.
  // A gateway opens it right after the client request arrived, and goes on from it at
  // once, in the same turn of its event loop: its next attempt's connection (or, without
  // one, its response to the client) starts within kImmediateMicros of the attempt. So an
  // attempt joins when the chain from the client request's end through the connection
  // attempts to the next attempt (or the response) has no gap wider than that, and each
  // link is clearly the closest (its gap under half the next candidate's; else the
  // attempts are ambiguous and left alone). Others (a health check) stay unjoined.
  if (!client.ex.request) return;
  const HttpMessage& req = *client.ex.request;
  const Timestamp request_end = req.last_byte.micros != 0 ? req.last_byte : req.headers_end;
  const Timestamp headers_done = req.headers_end.micros != 0 ? req.headers_end : req.first_byte;
  Timestamp next;
  if (!chosen.empty()) {
    // The first real attempt: from its connection's start when it opened one for it, else
    // (a reused keep-alive connection) from its request.
    const Exchange& first = chosen.front()->ex;
    next = first.index == 0 && !(first.connection_start < headers_done) ? first.connection_start
                                                                        : first.start();
  } else if (client.ex.response) {
    next = client.ex.response->first_byte;
  } else {
    return;
  }
  std::vector<It> before;
  for (std::size_t n = 0; n < kMaxConnectsPerExchange; ++n) {
    // Attempts that ended at most kImmediateMicros before `next`, after the headers,
    // the closest first.
    std::vector<It> fit;
    auto i = connect_by_end_.upper_bound(next.micros);
    while (i != connect_by_end_.begin() && fit.size() < 2) {
      --i;
      if (next.micros - i->first > kImmediateMicros) break;
      const It u = i->second;
      if (u->ex.start() < headers_done) continue;
      if (std::find(before.begin(), before.end(), u) != before.end()) continue;
      fit.push_back(u);
    }
    if (fit.empty()) break;
    if (fit.size() > 1 &&
        2 * (next.micros - fit[0]->ex.end().micros) >= next.micros - fit[1]->ex.end().micros) {
      counters_.ambiguous += fit.size();
      return;  // none of them, nor what came before
    }
    before.push_back(fit.front());
    next = fit.front()->ex.start();
  }
  // The chain must reach back to the client request.
  if (before.empty() || next.micros - request_end.micros > kImmediateMicros) return;
  chosen.insert(chosen.begin(), before.rbegin(), before.rend());
}

bool JoinWindow::swap_fits(const Pending& client, const Pending& up) const {
  if (!client.ex.request || !up.ex.request || !fits(client, up, true)) return false;
  if (!client.id.empty() && !up.id.empty()) return false;  // ids decide, and they differ
  std::string from, to;
  return PrefixRewrites::swap_of(client.ex.request->uri, up.ex.request->uri, from, to);
}

bool JoinWindow::fits_other_client(const Pending& client, const Pending& up) const {
  // Only client exchanges whose target is the attempt's, or a known swap of it, can fit.
  auto any_fits = [&](std::string_view target) {
    auto [lo, hi] = client_by_target_.equal_range(target);
    for (auto i = lo; i != hi; ++i) {
      if (i->second != &client && fits(*i->second, up, false)) return true;
    }
    return false;
  };
  if (!up.ex.request) return false;
  if (any_fits(up.ex.request->uri)) return true;
  std::vector<std::string> sources;
  options_.rewrites.swapped(up.ex.request->uri, false, sources);
  for (const auto& t : sources) {
    if (any_fits(t)) return true;
  }
  return false;
}

void JoinWindow::decide_client(Pending& client) {
  unindex_client(client);
  std::vector<It> chosen;
  if (!client.id.empty()) {
    auto [lo, hi] = upstream_by_id_.equal_range(client.id);
    for (auto i = lo; i != hi; ++i) chosen.push_back(i->second);
  }
  if (chosen.empty() && client.ex.request) {
    std::size_t ambiguous = 0;
    // Attempts with the client's target or a known swap of it.
    auto consider = [&](std::string_view target) {
      auto [lo, hi] = upstream_by_target_.equal_range(target);
      for (auto i = lo; i != hi; ++i) {
        const It u = i->second;
        if (!fits(client, *u, false)) continue;
        if (std::find(chosen.begin(), chosen.end(), u) != chosen.end()) continue;
        if (fits_other_client(client, *u)) {
          ++ambiguous;
        } else {
          chosen.push_back(u);
        }
      }
    };
    consider(client.ex.request->uri);
    options_.rewrites.swapped(client.ex.request->uri, true, swapped_);
    for (const auto& t : swapped_) consider(t);
    if (chosen.empty() && ambiguous == 0) {
      // No known rewrite fits: one attempt that only this client exchange could have
      // made, its target a prefix swap of the client's, is joined and teaches the swap.
      It only = upstreams_.end();
      std::size_t n = 0;
      for (It u = upstreams_.begin(); u != upstreams_.end(); ++u) {
        if (!u->ex.request || !swap_fits(client, *u)) continue;
        bool other = false;
        for (const Pending& o : clients_) {
          if (&o != &client && swap_fits(o, *u)) other = true;
        }
        if (other) {
          ++ambiguous;
          continue;
        }
        only = u;
        ++n;
      }
      if (n == 1 && ambiguous == 0) {
        chosen.push_back(only);
      } else if (n > 1) {
        ambiguous += n;
      }
    }
    counters_.ambiguous += ambiguous;
    // Several attempts are retries only if they follow one another, each but the last a
    // failure the gateway may retry after; anything else is ambiguous.
    std::sort(chosen.begin(), chosen.end(),
              [](It a, It b) { return a->ex.start() < b->ex.start(); });
    for (std::size_t i = 1; i < chosen.size(); ++i) {
      if (chosen[i]->ex.start() < chosen[i - 1]->ex.end() ||
          !may_retry_after(chosen[i - 1]->ex)) {
        counters_.ambiguous += chosen.size();
        chosen.clear();
        break;
      }
    }
  } else {
    std::sort(chosen.begin(), chosen.end(),
              [](It a, It b) { return a->ex.start() < b->ex.start(); });
  }
  attach_connects(client, chosen);

  GatewayView view;
  view.leg = Leg::Client;
  for (It u : chosen) {
    view.tries.push_back(try_of(client.ex, u->ex));
    if (client.ex.request && u->ex.request) {
      if (options_.rewrites.learn(client.ex.request->uri, u->ex.request->uri)) {
        ++counters_.rewrites_learned;
      }
    }
  }
  const Classification c = classify(client.ex, classify_);
  view.upstream_unreachable = !view.tries.empty() && unanswered(view.tries.back());
  view.failure_origin = failure_origin(client.ex, view.tries, c.failed);
  if (view.tries.empty()) {
    ++counters_.unjoined_client;
  } else {
    ++counters_.joined;
    counters_.joined_upstream += view.tries.size();
    counters_.retries += view.tries.size() - 1;
  }
  for (It u : chosen) {
    bytes_ -= u->bytes;
    unindex_upstream(u);
    emit_upstream(std::move(u->ex), true);
    upstreams_.erase(u);
  }
  bytes_ -= client.bytes;
  client.ex.gateway = std::move(view);
  if (options_.legs == LegsMode::Upstream) {
    ++counters_.left_out;
  } else {
    out_.on_exchange(std::move(client.ex));
  }
}

void JoinWindow::expire_front_upstream() {
  Pending& up = upstreams_.front();
  bytes_ -= up.bytes;
  unindex_upstream(upstreams_.begin());
  ++counters_.unjoined_upstream;
  emit_upstream(std::move(up.ex), false);
  upstreams_.pop_front();
}

void JoinWindow::emit_upstream(Exchange&& ex, bool joined) {
  const bool publish = options_.legs == LegsMode::Upstream || options_.legs == LegsMode::All ||
                       (!joined && options_.legs == LegsMode::Joined);
  if (!publish) {
    if (!joined) ++counters_.left_out;
    return;
  }
  GatewayView view;
  view.leg = Leg::Upstream;
  view.joined = joined;
  ex.gateway = std::move(view);
  out_.on_exchange(std::move(ex));
}

}  // namespace offpath
