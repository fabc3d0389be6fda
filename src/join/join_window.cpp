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
  t.status = up.response ? up.response->status : 0;
  t.outcome = up.outcome;
  t.start = up.start();
  t.end = up.end();
  if (answered_late(client, up)) {
    // The gateway had given up: for it the attempt timed out unanswered.
    t.status = 0;
    t.outcome = Outcome::Timeout;
    t.end = client.response->first_byte;
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
  } else {
    upstreams_.push_back(std::move(p));
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
      expire_upstream(upstreams_.front());
      upstreams_.pop_front();
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
    expire_upstream(upstreams_.front());
    upstreams_.pop_front();
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
    expire_upstream(upstreams_.front());
    upstreams_.pop_front();
  }
  counters_.pending = 0;
  counters_.pending_bytes = bytes_;
}

bool JoinWindow::fits(const Pending& client, const Pending& up, bool any_uri) const {
  if (!client.id.empty() && !up.id.empty()) return client.id == up.id;
  if (!timing_fits(client.ex, up.ex)) return false;
  if (!up.ex.request) return true;  // a connection attempt (refused, timed out): timing only
  const HttpMessage& c = *client.ex.request;
  const HttpMessage& u = *up.ex.request;
  if (c.method != u.method) return false;
  return any_uri || options_.rewrites.fits(c.uri, u.uri);
}

bool JoinWindow::swap_fits(const Pending& client, const Pending& up) const {
  if (!client.ex.request || !up.ex.request || !fits(client, up, true)) return false;
  if (!client.id.empty() && !up.id.empty()) return false;  // ids decide, and they differ
  std::string from, to;
  return PrefixRewrites::swap_of(client.ex.request->uri, up.ex.request->uri, from, to);
}

bool JoinWindow::fits_other_client(const Pending& client, const Pending& up) const {
  for (const Pending& other : clients_) {
    if (&other != &client && fits(other, up, false)) return true;
  }
  return false;
}

void JoinWindow::decide_client(Pending& client) {
  using It = std::list<Pending>::iterator;
  std::vector<It> chosen;
  if (!client.id.empty()) {
    for (It u = upstreams_.begin(); u != upstreams_.end(); ++u) {
      if (u->id == client.id) chosen.push_back(u);
    }
    if (!chosen.empty()) {
      // Connection attempts carry no id: refused or unanswered connects in the same time
      // that fit no other client exchange are this one's attempts too.
      for (It u = upstreams_.begin(); u != upstreams_.end(); ++u) {
        if (!u->ex.request && timing_fits(client.ex, u->ex) && !fits_other_client(client, *u)) {
          chosen.push_back(u);
        }
      }
    }
  }
  if (chosen.empty() && client.ex.request) {
    std::size_t ambiguous = 0;
    for (It u = upstreams_.begin(); u != upstreams_.end(); ++u) {
      if (!fits(client, *u, false)) continue;
      if (fits_other_client(client, *u)) {
        ++ambiguous;
      } else {
        chosen.push_back(u);
      }
    }
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

void JoinWindow::expire_upstream(Pending& up) {
  bytes_ -= up.bytes;
  ++counters_.unjoined_upstream;
  emit_upstream(std::move(up.ex), false);
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
