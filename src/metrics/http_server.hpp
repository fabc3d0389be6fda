// MetricsServer: GET /metrics and GET /healthz on one listening socket (--metrics
// ADDR:PORT), served by libmicrohttpd on one epoll thread of its own. Many idle or slow
// connections cannot starve a probe: the connection count is capped well above what a
// node sees (kMaxConnections), a connection with no progress for kIdleTimeoutS seconds is
// closed, a request's headers must fit kConnectionMemory bytes, and a request body is
// refused. There is no per-address limit on purpose: the kubelet probe and a flood from
// the same node share one address, so such a limit would lock the probe out first.
// The answer comes from the handler, which runs on the server thread and must be
// thread-safe with respect to the pipeline (it reads published snapshots only). Created
// and destroyed by the app's main thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct MHD_Daemon;

namespace offpath {

struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class MetricsServer {
 public:
  using Handler = std::function<HttpAnswer(std::string_view path)>;

  static constexpr unsigned kMaxConnections = 4096;
  static constexpr unsigned kIdleTimeoutS = 5;
  static constexpr std::size_t kConnectionMemory = 8 * 1024;

  // Binds "ADDR:PORT" ("[::1]:9464" for IPv6; port 0 picks a free one) and starts the
  // thread. Raises the soft limit on open files towards what kMaxConnections needs, when
  // the hard limit allows. Errors name --metrics.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address, Handler handler);
  ~MetricsServer();  // stops the daemon and joins its thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "ADDR:PORT" actually bound.
  const std::string& bound() const { return bound_; }
  // Connections served at once: kMaxConnections, or less when the limit on open files
  // could not be raised that far.
  unsigned connection_limit() const { return connection_limit_; }
  // Connections the server holds open now.
  unsigned connections_for_test() const;

 private:
  struct StopDaemon {
    void operator()(MHD_Daemon* daemon) const;
  };
  MetricsServer(std::string bound, unsigned connection_limit, Handler handler);

  std::string bound_;
  unsigned connection_limit_;
  Handler handler_;  // declared before daemon_: the daemon stops before the handler goes
  std::unique_ptr<MHD_Daemon, StopDaemon> daemon_;
};

}  // namespace offpath
