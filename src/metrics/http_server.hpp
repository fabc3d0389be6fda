// MetricsServer: a minimal HTTP/1.0 server for GET /metrics and GET /healthz on one
// listening socket (--metrics ADDR:PORT), served by one thread it owns. One request per
// connection, read with a 2-second deadline and an 8 KiB limit; the answer comes from
// the handler, which runs on the server thread and must be thread-safe with respect to
// the pipeline (it reads published snapshots only). Prometheus and kubelet probes need
// nothing more, and a scrape is a few KB, so no library (prometheus-cpp's exposer would
// bring civetweb and its own counter objects that our snapshots would have to mirror).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/result.hpp"

namespace offpath {

struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class MetricsServer {
 public:
  using Handler = std::function<HttpAnswer(std::string_view path)>;

  // Binds "ADDR:PORT" ("[::1]:9464" for IPv6; port 0 picks a free one) and starts the
  // thread. Errors name --metrics.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address, Handler handler);
  ~MetricsServer();  // stops and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "ADDR:PORT" actually bound.
  const std::string& bound() const { return bound_; }

 private:
  MetricsServer(int listen_fd, int wake_read, int wake_write, std::string bound, Handler handler);
  void run();
  void serve(int fd);

  int listen_fd_;
  int wake_read_;
  int wake_write_;
  std::string bound_;
  Handler handler_;
  std::thread thread_;
};

}  // namespace offpath
