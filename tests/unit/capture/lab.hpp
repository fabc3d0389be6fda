// Test lab for live capture: a private pair of network namespaces joined by a veth, TCP
// servers and clients on it, a frame collector running a Source on its own thread, and
// a small TCP/IP frame reader to check what was captured.
//
// VethLab moves the calling thread (the test's main thread) into a fresh network
// namespace ("near": capture and clients) and creates a second one ("far": servers).
// Neither is named or mounted, so both vanish with the test process, however it ends;
// nothing is configured outside them. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture/source.hpp"

namespace offpath::testlab {

inline bool running_as_root() { return ::geteuid() == 0; }

// Output of a shell command (run in the calling thread's network namespace).
inline std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

inline int shell_rc(const std::string& cmd) {
  int status = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class VethLab {
 public:
  // near: 192.0.2.1/24 and 2001:db8::1/64 on near_if(); far: .2 and ::2 on far_if().
  static std::unique_ptr<VethLab> create(std::string* error) {
    auto lab = std::unique_ptr<VethLab>(new VethLab());
    lab->original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (::unshare(CLONE_NEWNET) != 0) return fail(error, "unshare far");
    lab->far_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (::unshare(CLONE_NEWNET) != 0) return fail(error, "unshare near");
    lab->near_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    std::string pid = std::to_string(::getpid());
    lab->near_if_ = "oplive" + pid + "n";
    lab->far_if_ = "oplive" + pid + "f";
    std::string far_path = "/proc/" + pid + "/fd/" + std::to_string(lab->far_);
    lab->far_exec_ = "nsenter --net=" + far_path + " ";
    const std::string cmds[] = {
        "ip link set lo up",
        "ip link add " + lab->near_if_ + " type veth peer name " + lab->far_if_ +
            " netns " + far_path,
        "ip addr add 192.0.2.1/24 dev " + lab->near_if_,
        "ip addr add 2001:db8::1/64 dev " + lab->near_if_ + " nodad",
        "ip link set " + lab->near_if_ + " up",
        lab->far_exec_ + "ip link set lo up",
        lab->far_exec_ + "ip addr add 192.0.2.2/24 dev " + lab->far_if_,
        lab->far_exec_ + "ip addr add 2001:db8::2/64 dev " + lab->far_if_ + " nodad",
        lab->far_exec_ + "ip link set " + lab->far_if_ + " up",
    };
    for (const auto& cmd : cmds) {
      if (shell_rc(cmd) != 0) return fail(error, "'" + cmd + "': " + shell(cmd));
    }
    return lab;
  }

  ~VethLab() {
    // The namespaces die with their last reference; go home first.
    if (original_ >= 0) ::setns(original_, CLONE_NEWNET);
    for (int fd : {near_, far_, original_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  const std::string& near_if() const { return near_if_; }
  const std::string& far_if() const { return far_if_; }
  // Prefix that runs a command in the far namespace.
  const std::string& far_exec() const { return far_exec_; }

  // Runs fn with the calling thread in the far namespace (sockets it creates stay there).
  template <typename F>
  auto in_far(F fn) {
    ::setns(far_, CLONE_NEWNET);
    auto result = fn();
    ::setns(near_, CLONE_NEWNET);
    return result;
  }

 private:
  VethLab() = default;
  static std::unique_ptr<VethLab> fail(std::string* error, const std::string& what) {
    *error = what + ": " + std::strerror(errno);
    return nullptr;
  }
  int original_ = -1, near_ = -1, far_ = -1;
  std::string near_if_, far_if_, far_exec_;
};

inline sockaddr_storage make_addr(const std::string& ip, std::uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

inline bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until EOF, an error or 10 s.
inline std::string read_to_eof(int fd) {
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A one-connection-at-a-time TCP server in the far namespace: reads one request (up to
// the blank line), answers `response`, closes. Serves until destroyed.
class Server {
 public:
  // far = false: listen in the near namespace (e.g. on 127.0.0.1).
  Server(VethLab& lab, const std::string& ip, std::uint16_t port, std::string response,
         bool far = true)
      : response_(std::move(response)) {
    auto make = [&] {
      socklen_t len;
      auto addr = make_addr(ip, port, &len);
      int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 16) != 0) {
        ::close(fd);
        return -1;
      }
      return fd;
    };
    fd_ = far ? lab.in_far(make) : make();
    if (fd_ >= 0) thread_ = std::thread([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (req.find("\r\n\r\n") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 100) <= 0) continue;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      write_all(c, response_);
      ::shutdown(c, SHUT_WR);
      read_to_eof(c);  // wait for the client's FIN so the close is orderly
      ::close(c);
    }
  }
  std::string response_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Connects from the near namespace, sends `request`, reads the response to EOF.
inline std::optional<std::string> exchange(const std::string& ip, std::uint16_t port,
                                           const std::string& request) {
  socklen_t len;
  auto addr = make_addr(ip, port, &len);
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || !write_all(fd, request)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string response = read_to_eof(fd);
  ::close(fd);
  return response;
}

// A captured frame, copied.
struct Captured {
  Timestamp ts;
  std::uint32_t wire_len;
  LinkType link;
  std::vector<std::uint8_t> bytes;
};

class Collector final : public FrameHandler {
 public:
  void on_frame(const Frame& frame) override {
    std::lock_guard lock(mu_);
    frames_.push_back(Captured{frame.ts, frame.wire_len, frame.link,
                               std::vector<std::uint8_t>(frame.bytes.begin(),
                                                         frame.bytes.end())});
  }
  void on_idle(Timestamp) override { idles_.fetch_add(1); }
  std::vector<Captured> frames() const {
    std::lock_guard lock(mu_);
    return frames_;
  }
  int idles() const { return idles_.load(); }

 private:
  mutable std::mutex mu_;
  std::vector<Captured> frames_;
  std::atomic<int> idles_{0};
};

// Runs source.run() on a thread until stop().
class Running {
 public:
  Running(Source& source, FrameHandler& handler)
      : thread_([this, &source, &handler] {
          auto r = source.run(handler, stop_);
          if (!r) error_ = r.error().message;
        }) {}
  ~Running() { stop(); }
  std::string stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::string error_;
  std::thread thread_;
};

// Polls `done` every 20 ms for at most `limit`.
inline bool wait_for(const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04;

// The TCP segment in a captured frame.
struct Segment {
  std::string src, dst;
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq = 0;
  std::uint8_t flags = 0;
  std::string payload;
};

inline std::optional<Segment> parse_segment(const Captured& f) {
  const auto& b = f.bytes;
  std::size_t off = 0;
  std::uint16_t proto = 0;
  auto be16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
  };
  if (f.link == LinkType::Ethernet) {
    if (b.size() < 14) return std::nullopt;
    proto = be16(12);
    off = 14;
  } else if (f.link == LinkType::LinuxSll2) {
    if (b.size() < 20) return std::nullopt;
    proto = be16(0);
    off = 20;
  } else if (f.link == LinkType::Raw) {
    if (b.empty()) return std::nullopt;
    proto = (b[0] >> 4) == 6 ? 0x86dd : 0x0800;
  } else {
    return std::nullopt;
  }
  Segment s;
  char text[INET6_ADDRSTRLEN];
  std::size_t ip_end;
  if (proto == 0x0800) {
    if (b.size() < off + 20 || b[off + 9] != IPPROTO_TCP) return std::nullopt;
    std::size_t ihl = (b[off] & 0x0fu) * 4u;
    ip_end = off + be16(off + 2);
    ::inet_ntop(AF_INET, &b[off + 12], text, sizeof text);
    s.src = text;
    ::inet_ntop(AF_INET, &b[off + 16], text, sizeof text);
    s.dst = text;
    off += ihl;
  } else if (proto == 0x86dd) {
    if (b.size() < off + 40 || b[off + 6] != IPPROTO_TCP) return std::nullopt;
    ip_end = off + 40 + be16(off + 4);
    ::inet_ntop(AF_INET6, &b[off + 8], text, sizeof text);
    s.src = text;
    ::inet_ntop(AF_INET6, &b[off + 24], text, sizeof text);
    s.dst = text;
    off += 40;
  } else {
    return std::nullopt;
  }
  if (b.size() < off + 20) return std::nullopt;
  s.sport = be16(off);
  s.dport = be16(off + 2);
  s.seq = (static_cast<std::uint32_t>(be16(off + 4)) << 16) | be16(off + 6);
  s.flags = b[off + 13];
  std::size_t doff = (b[off + 12] >> 4) * 4u;
  std::size_t start = off + doff;
  std::size_t end = std::min(ip_end, b.size());
  if (start < end) s.payload.assign(reinterpret_cast<const char*>(&b[start]), end - start);
  return s;
}

// Bytes sent from port `from` to port `to`, in sequence order, from the captured
// segments: retransmissions and overlaps count once, a hole shows as "<gap>". Sequence
// numbers are taken relative to the SYN, so they may wrap.
inline std::string stream_bytes(const std::vector<Segment>& segs, std::uint16_t from,
                                std::uint16_t to) {
  std::optional<std::uint32_t> base;
  for (const auto& s : segs) {
    if (s.sport == from && s.dport == to && (s.flags & kSyn)) base = s.seq + 1;
  }
  std::multimap<std::uint32_t, std::string> by_offset;
  for (const auto& s : segs) {
    if (s.sport != from || s.dport != to || s.payload.empty()) continue;
    if (!base) base = s.seq;
    by_offset.emplace(s.seq - *base, s.payload);
  }
  std::string out;
  std::uint32_t next = 0;
  for (const auto& [offset, data] : by_offset) {
    if (offset > next) return out + "<gap>";
    std::uint32_t end = offset + static_cast<std::uint32_t>(data.size());
    if (end <= next) continue;
    out += data.substr(next - offset);
    next = end;
  }
  return out;
}

inline std::vector<Segment> segments(const std::vector<Captured>& frames) {
  std::vector<Segment> out;
  for (const auto& f : frames) {
    if (auto s = parse_segment(f)) out.push_back(*s);
  }
  return out;
}

// Local port of a connection in `segs` whose other end is `server_port`.
inline std::vector<std::uint16_t> client_ports(const std::vector<Segment>& segs,
                                               std::uint16_t server_port) {
  std::vector<std::uint16_t> out;
  for (const auto& s : segs) {
    if (s.dport == server_port && (s.flags & kSyn) &&
        std::find(out.begin(), out.end(), s.sport) == out.end()) {
      out.push_back(s.sport);
    }
  }
  return out;
}

// Drops the given capabilities from this process (effective and permitted sets). For
// forked children that check the errors a missing capability gives.
inline bool drop_capabilities(std::initializer_list<int> caps) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  for (int cap : caps) {
    auto bit = 1u << (cap % 32);
    data[cap / 32].effective &= ~bit;
    data[cap / 32].permitted &= ~bit;
  }
  return ::syscall(SYS_capset, &hdr, data) == 0;
}

// Runs fn in a forked child and returns the string it produced (through a pipe).
inline std::string in_child(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = fn();
    for (std::size_t off = 0; off < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status;
  ::waitpid(pid, &status, 0);
  return out;
}

// What the capture tests exchange through the lab: a small request and response on the
// port under test, and another port that filters must keep out.
constexpr std::uint16_t kPort = 8080;
constexpr std::uint16_t kOtherPort = 9090;
inline const std::string kRequest = "GET /hello HTTP/1.1\r\nHost: lab\r\n\r\n";
inline const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// True once both FINs of the connection on `port` have been captured.
inline bool closed_both_ways(const Collector& c, std::uint16_t port) {
  int fins = 0;
  for (const auto& s : segments(c.frames())) {
    if ((s.flags & kFin) && (s.sport == port || s.dport == port)) ++fins;
  }
  return fins >= 2;
}

// A fresh veth lab per test. scripts/test.sh runs as root; without root these tests
// cannot do their job, which is a failure, not a skip.
class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root()) GTEST_FAIL() << "needs root (network namespaces, capture)";
    std::string error;
    lab_ = VethLab::create(&error);
    ASSERT_TRUE(lab_) << error;
  }
  std::unique_ptr<VethLab> lab_;
};

}  // namespace offpath::testlab
