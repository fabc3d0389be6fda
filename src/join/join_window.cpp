#include "join/join_window.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
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

// The backend answered: its header block completed. A status line cut short by a reset
// or a close answers nothing: a gateway acts on the whole header block only.
bool answered(const Exchange& up) {
  return up.response && up.response->headers_end.micros != 0;
}

UpstreamTry try_of(const Exchange& client, const Exchange& up) {
  UpstreamTry t;
  t.addr = up.server;
  t.status = answered(up) ? up.response->status : 0;
  t.outcome = up.outcome;
  t.start = up.start();
  t.end = up.end();
  if (!answered(up)) {
    // No answer: no latency either.
  } else if (answered_late(client, up)) {
    // The gateway had given up: for it the attempt timed out unanswered (or, the client
    // gone without a response, went unanswered: the attempt keeps its own outcome).
    t.status = 0;
    if (client.response) {
      t.outcome = Outcome::Timeout;
      t.end = client.response->first_byte;
    }
  } else if (up.request) {
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
  return !answered(up) || up.response->status >= 500 || up.outcome != Outcome::Complete;
}

// When the gateway acted for an attempt: it opened the connection (after the client's
// headers), or sent the request on a connection it had.
Timestamp action_of(const Exchange& up, Timestamp headers_done) {
  return up.index == 0 && !(up.connection_start < headers_done) ? up.connection_start
                                                                : up.start();
}

Timestamp headers_done_of(const HttpMessage& req) {
  return req.headers_end.micros != 0 ? req.headers_end : req.first_byte;
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
      resolve_connects(clients_.front().ex.end().micros);
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
  // Connection attempts first: a client exchange's end is after its attempts' SYNs.
  resolve_connects(watermark.micros - options_.settle_micros);
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
  resolve_connects(INT64_MAX);
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

void JoinWindow::index_client(Pending& c) {
  if (!c.ex.request) return;
  client_by_target_.emplace(c.ex.request->uri, &c);
  client_by_arrival_.emplace(headers_done_of(*c.ex.request).micros, &c);
}

void JoinWindow::unindex_client(Pending& c) {
  if (!c.ex.request) return;
  erase_entry(client_by_target_, c.ex.request->uri, static_cast<const Pending*>(&c));
  auto [lo, hi] = client_by_arrival_.equal_range(headers_done_of(*c.ex.request).micros);
  for (auto i = lo; i != hi; ++i) {
    if (i->second == &c) {
      client_by_arrival_.erase(i);
      break;
    }
  }
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

void JoinWindow::real_attempts(const Pending& client, std::vector<It>& out,
                               bool& unsure) const {
  out.clear();
  unsure = false;
  if (!client.id.empty()) {
    auto [lo, hi] = upstream_by_id_.equal_range(client.id);
    for (auto i = lo; i != hi; ++i) out.push_back(i->second);
    if (!out.empty()) return;
  }
  if (!client.ex.request) return;
  auto consider = [&](std::string_view target) {
    auto [lo, hi] = upstream_by_target_.equal_range(target);
    for (auto i = lo; i != hi; ++i) {
      const It u = i->second;
      if (!fits(client, *u, false)) continue;
      if (fits_other_client(client, *u)) {
        unsure = true;
      } else {
        out.push_back(u);
      }
    }
  };
  consider(client.ex.request->uri);
  std::vector<std::string> swapped;
  options_.rewrites.swapped(client.ex.request->uri, true, swapped);
  for (const auto& t : swapped) consider(t);
}

JoinWindow::Waiting JoinWindow::waiting_at(const Pending& client, std::int64_t syn) const {
  Waiting w;
  const Exchange& c = client.ex;
  const std::int64_t answer = c.response ? c.response->first_byte.micros : INT64_MAX;
  if (answer <= syn) return w;  // answered before: the gateway had done with it
  const Timestamp headers_done = headers_done_of(*c.request);
  std::vector<It> attempts;
  real_attempts(client, attempts, w.unsure);
  // The last thing the gateway did for it before the SYN, and the next after.
  w.next = answer;
  w.next_is_response = true;
  std::int64_t last = INT64_MIN;
  std::optional<It> last_attempt;  // the last action was this attempt (else a connect)
  for (const It u : attempts) {
    const std::int64_t at = action_of(u->ex, headers_done).micros;
    if (at > syn) {
      if (at < w.next) {
        w.next = at;
        w.next_is_response = false;
      }
    } else if (at > last) {
      last = at;
      last_attempt = u;
    }
  }
  for (const It k : client.connects) {
    const std::int64_t at = k->ex.connection_start.micros;
    if (at <= syn && at > last) {
      last = at;
      last_attempt.reset();
    }
  }
  if (last == INT64_MIN) {
    w.since = headers_done.micros;  // it arrived, nothing done for it yet
  } else if (!last_attempt) {
    w.since = last;  // its connect was refused: the gateway goes on from it
  } else {
    const Exchange& up = (*last_attempt)->ex;
    if (up.end().micros > syn || !may_retry_after(up)) return w;  // under way, or done
    w.since = up.end().micros;  // at least: the reset or close may have come later
    w.since_exact = false;
  }
  w.waiting = true;
  return w;
}

void JoinWindow::resolve_connects(std::int64_t until) {
  while (!connect_by_end_.empty() && connect_by_end_.begin()->first <= until) {
    const It u = connect_by_end_.begin()->second;
    connect_by_end_.erase(connect_by_end_.begin());
    give_connect(u);
  }
}

void JoinWindow::give_connect(It connect) {
  const std::int64_t syn = connect->ex.connection_start.micros;
  Pending* pick = nullptr;
  Waiting best;
  std::int64_t runner_up = INT64_MAX;  // when the next one waited since
  std::size_t n = 0;
  for (auto i = client_by_arrival_.lower_bound(syn - kImmediateMicros);
       i != client_by_arrival_.end() && i->first <= syn; ++i) {
    Pending& c = *i->second;
    const Waiting w = waiting_at(c, syn);
    if (++n > kMaxCandidates || w.unsure) {
      ++counters_.ambiguous;  // the order of the gateway's work is not known here
      return;
    }
    // One the gateway did nothing for within kImmediateMicros after the SYN was not
    // waiting on it (or its next attempt is not known: a target rewritten in a way not
    // learned yet, a leg not captured).
    if (!w.waiting || w.next - syn > kImmediateMicros) continue;
    if (pick == nullptr || w.since < best.since) {
      if (pick != nullptr) runner_up = best.since;
      pick = &c;
      best = w;
    } else {
      runner_up = std::min(runner_up, w.since);
    }
  }
  if (pick == nullptr) return;  // nobody waited for the gateway (a health check)
  const Exchange& c = pick->ex;
  const bool failed = !c.response || c.response->status >= 500;
  // Which came first is not known when two waited since (about) the same time, or when
  // the first one's time is only a lower bound.
  const bool others = runner_up != INT64_MAX;
  const bool tie = others && (runner_up - best.since < kSameTimeMicros || !best.since_exact);
  // After a failed attempt the gateway's reaction cannot be timed (the reset or close may
  // have come after its last packet): a connect then is its try only between two attempts.
  const bool untimed = !best.since_exact && best.next_is_response;
  if (tie || untimed || (best.next_is_response && !failed) ||
      pick->connects.size() >= kMaxConnectsPerExchange) {
    ++counters_.ambiguous;
    return;
  }
  pick->connects.push_back(connect);
  pick->attempt_after = !best.next_is_response;
  connect->owner = pick;
}

void JoinWindow::release_connects(Pending& client) {
  counters_.ambiguous += client.connects.size();
  for (const It k : client.connects) k->owner = nullptr;
  client.connects.clear();
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
  // The connection attempts given to it; if the gateway went on to an attempt that the
  // evidence does not give this exchange, they are left unjoined too.
  if (chosen.empty() && client.attempt_after) release_connects(client);
  if (!client.connects.empty()) {
    chosen.insert(chosen.end(), client.connects.begin(), client.connects.end());
    std::sort(chosen.begin(), chosen.end(),
              [](It a, It b) { return a->ex.start() < b->ex.start(); });
  }

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
  if (up.owner != nullptr) {
    // Given to a client exchange that still waits (the window is over its limits).
    auto& given = up.owner->connects;
    given.erase(std::find(given.begin(), given.end(), upstreams_.begin()));
  }
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
