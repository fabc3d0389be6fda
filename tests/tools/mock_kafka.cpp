// mock_kafka: librdkafka's built-in mock cluster as a stand-alone process, for end-to-end
// tests and manual tries (scripts/kafka-dev.sh). It speaks the real Kafka protocol on
// 127.0.0.1, so offpath, kcat and python3-kafka talk to it as to any broker.
//
//   mock_kafka [--brokers N] [--port P] [--topic NAME[:PARTITIONS]]...
//
// Prints "bootstrap=HOST:PORT" on the first line of stdout, then reads commands on stdin,
// one per line, and answers each with "ok" or "error: ...":
//   down                 every broker refuses connections (rd_kafka_mock_broker_set_down)
//   up                   every broker accepts them again
//   errors N [CODE]      the next N Produce requests fail with CODE (default 7,
//                        REQUEST_TIMED_OUT)
//   rtt MS               every broker answers MS milliseconds late
//   topic NAME PARTS     creates a topic
//   quit                 (or end of input) stops the cluster
// --port P also accepts bootstrap connections on 127.0.0.1:P (forwarded to the first
// broker), so that a fixed address can be used; the brokers themselves keep the ports
// the mock cluster picked, which clients learn from the metadata.
//
// Single-threaded apart from the forwarder thread and librdkafka's own threads.
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Handles {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mcluster = nullptr;
  ~Handles() {
    if (mcluster != nullptr) rd_kafka_mock_cluster_destroy(mcluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

// Forwards connections from 127.0.0.1:port to the first broker.
class Forwarder {
 public:
  Forwarder(int listen_fd, sockaddr_in upstream) : listen_fd_(listen_fd), upstream_(upstream) {
    if (::pipe(stop_pipe_) != 0) std::perror("pipe");
    thread_ = std::thread([this] { run(); });
  }
  ~Forwarder() {
    char c = 'x';
    if (::write(stop_pipe_[1], &c, 1) != 1) std::perror("write");
    thread_.join();
    for (const Pair& p : pairs_) {
      ::close(p.a);
      ::close(p.b);
    }
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

 private:
  struct Pair {
    int a;
    int b;
  };

  static bool pump(int from, int to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return false;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += w;
    }
    return true;
  }

  void run() {
    for (;;) {
      std::vector<pollfd> fds;
      fds.push_back({stop_pipe_[0], POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const Pair& p : pairs_) {
        fds.push_back({p.a, POLLIN, 0});
        fds.push_back({p.b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
      if (fds[1].revents & POLLIN) {
        int client = ::accept(listen_fd_, nullptr, nullptr);
        if (client >= 0) {
          int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          if (up >= 0 &&
              ::connect(up, reinterpret_cast<const sockaddr*>(&upstream_), sizeof upstream_) == 0) {
            pairs_.push_back({client, up});
          } else {
            if (up >= 0) ::close(up);
            ::close(client);
          }
        }
      }
      std::vector<Pair> alive;
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        const pollfd& pa = fds[2 + 2 * i];
        const pollfd& pb = fds[3 + 2 * i];
        bool ok = true;
        if (pa.revents & (POLLIN | POLLHUP | POLLERR)) ok = pump(pairs_[i].a, pairs_[i].b);
        if (ok && (pb.revents & (POLLIN | POLLHUP | POLLERR))) ok = pump(pairs_[i].b, pairs_[i].a);
        if (ok) {
          alive.push_back(pairs_[i]);
        } else {
          ::close(pairs_[i].a);
          ::close(pairs_[i].b);
        }
      }
      pairs_ = std::move(alive);
    }
  }

  int listen_fd_;
  sockaddr_in upstream_;
  int stop_pipe_[2] = {-1, -1};
  std::vector<Pair> pairs_;
  std::thread thread_;
};

int usage() {
  std::fprintf(stderr, "usage: mock_kafka [--brokers N] [--port P] [--topic NAME[:PARTITIONS]]...\n");
  return 2;
}

bool parse_host_port(const std::string& hp, sockaddr_in& addr) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) return false;
  std::memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(hp.c_str() + colon + 1)));
  return ::inet_pton(AF_INET, hp.substr(0, colon).c_str(), &addr.sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  int port = 0;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    std::string value = argv[++i];
    if (arg == "--brokers") {
      brokers = std::atoi(value.c_str());
    } else if (arg == "--port") {
      port = std::atoi(value.c_str());
    } else if (arg == "--topic") {
      auto colon = value.find(':');
      int parts = colon == std::string::npos ? 1 : std::atoi(value.c_str() + colon + 1);
      topics.emplace_back(value.substr(0, colon), parts);
    } else {
      return usage();
    }
  }
  if (brokers < 1 || brokers > 16 || port < 0 || port > 65535) return usage();

  Handles h;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "mock_kafka: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  h.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (h.rk == nullptr) {
    std::fprintf(stderr, "mock_kafka: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  h.mcluster = rd_kafka_mock_cluster_new(h.rk, brokers);
  if (h.mcluster == nullptr) {
    std::fprintf(stderr, "mock_kafka: cannot create the mock cluster\n");
    return 1;
  }
  for (const auto& [name, parts] : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(h.mcluster, name.c_str(), parts, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "mock_kafka: topic %s: %s\n", name.c_str(), rd_kafka_err2str(err));
      return 1;
    }
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(h.mcluster);

  std::unique_ptr<Forwarder> forwarder;
  if (port != 0) {
    sockaddr_in upstream{};
    if (!parse_host_port(bootstrap.substr(0, bootstrap.find(',')), upstream)) {
      std::fprintf(stderr, "mock_kafka: cannot parse %s\n", bootstrap.c_str());
      return 1;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<std::uint16_t>(port));
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
        ::listen(fd, 64) != 0) {
      std::fprintf(stderr, "mock_kafka: cannot listen on 127.0.0.1:%d: %s\n", port,
                   std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return 1;
    }
    forwarder = std::make_unique<Forwarder>(fd, upstream);
    bootstrap = "127.0.0.1:" + std::to_string(port);
  }
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);

  auto reply = [](const std::string& text) {
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  };
  auto each_broker = [&](rd_kafka_resp_err_t (*fn)(rd_kafka_mock_cluster_t*, int32_t)) {
    for (int id = 1; id <= brokers; ++id) {
      rd_kafka_resp_err_t err = fn(h.mcluster, id);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::string("error: ") + rd_kafka_err2str(err);
    }
    return std::string("ok");
  };

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd.empty()) continue;
    if (cmd == "quit") {
      reply("ok");
      break;
    } else if (cmd == "down") {
      reply(each_broker(rd_kafka_mock_broker_set_down));
    } else if (cmd == "up") {
      reply(each_broker(rd_kafka_mock_broker_set_up));
    } else if (cmd == "errors") {
      std::size_t n = 0;
      int code = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
      in >> n >> code;
      if (n == 0 || n > 100000) {
        reply("error: errors N [CODE]");
        continue;
      }
      std::vector<rd_kafka_resp_err_t> errs(n, static_cast<rd_kafka_resp_err_t>(code));
      rd_kafka_mock_push_request_errors_array(h.mcluster, 0 /* Produce */, n, errs.data());
      reply("ok");
    } else if (cmd == "rtt") {
      int ms = -1;
      in >> ms;
      std::string result = "ok";
      for (int id = 1; id <= brokers && ms >= 0; ++id) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(h.mcluster, id, ms);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) result = std::string("error: ") + rd_kafka_err2str(err);
      }
      reply(ms < 0 ? "error: rtt MS" : result);
    } else if (cmd == "topic") {
      std::string name;
      int parts = 0;
      in >> name >> parts;
      if (name.empty() || parts < 1) {
        reply("error: topic NAME PARTITIONS");
        continue;
      }
      rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(h.mcluster, name.c_str(), parts, 1);
      reply(err == RD_KAFKA_RESP_ERR_NO_ERROR ? "ok" : std::string("error: ") + rd_kafka_err2str(err));
    } else {
      reply("error: unknown command " + cmd);
    }
  }
  forwarder.reset();
  return 0;
}
