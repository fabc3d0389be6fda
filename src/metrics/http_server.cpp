#include "metrics/http_server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

namespace offpath {
namespace {

// Descriptors kept for the rest of the process (capture, Kafka, spool, BPF objects) when
// the connection limit is derived from the limit on open files.
constexpr rlim_t kFdReserve = 256;
constexpr int kListenBacklog = 1024;

// Raises the soft RLIMIT_NOFILE towards kMaxConnections + kFdReserve (never above the hard
// limit, never lowers it) and returns the connection limit the result allows.
unsigned fit_connection_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return MetricsServer::kMaxConnections;
  const rlim_t want = MetricsServer::kMaxConnections + kFdReserve;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= want) return MetricsServer::kMaxConnections;
  return static_cast<unsigned>(lim.rlim_cur > 2 * kFdReserve ? lim.rlim_cur - kFdReserve
                                                             : lim.rlim_cur / 2);
}

bool announces_body(MHD_Connection* connection) {
  const char* length =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr ||
         (length != nullptr && std::strcmp(length, "0") != 0);
}

// The access handler: answers on its first call, once the headers are in, so a body is
// never read (MHD closes a connection whose body was left unread).
MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* /*upload_data*/,
                      std::size_t* /*upload_data_size*/, void** /*request_state*/) {
  const auto& handler = *static_cast<const MetricsServer::Handler*>(cls);
  const bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                   std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  HttpAnswer answer;
  if (!get) {
    answer = {405, "text/plain; charset=utf-8", "only GET\n"};
  } else if (announces_body(connection)) {
    answer = {413, "text/plain; charset=utf-8", "no request body\n"};
  } else {
    try {
      answer = handler(url);  // MHD gives the path without the query string
    } catch (const std::exception&) {
      answer = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
  }
  MHD_Response* response =
      MHD_create_response_from_buffer(answer.body.size(), answer.body.data(), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;  // closes the connection
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  if (answer.status == 405) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

void MetricsServer::StopDaemon::operator()(MHD_Daemon* daemon) const {
  MHD_stop_daemon(daemon);  // joins the thread, closes the connections and the listen socket
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address,
                                                            Handler handler) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return make_error("--metrics " + address + ": expected ADDR:PORT");
  std::string host = address.substr(0, colon);
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port_text) > 65535) {
    return make_error("--metrics " + address + ": '" + port_text + "' is not a port");
  }
  const int port = std::stoi(port_text);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss); ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
             ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return make_error("--metrics " + address + ": '" + host + "' is not an IP address");
  }
  // The socket is bound here rather than by MHD so that a failure names its reason.
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error("--metrics " + address + ": socket: " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, kListenBacklog) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return make_error("--metrics " + address + ": " + why);
  }
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len);
  const int bound_port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port)
                                           : ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  std::string bound = (family == AF_INET6 ? "[" + host + "]" : host) + ":" + std::to_string(bound_port);

  std::unique_ptr<MetricsServer> server(
      new MetricsServer(std::move(bound), fit_connection_limit(), std::move(handler)));
  const unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
  MHD_Daemon* daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &on_request, &server->handler_,
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),
      MHD_OPTION_CONNECTION_LIMIT, server->connection_limit_,
      MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutS,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory,
      MHD_OPTION_END);
  // On failure fd is not closed here: MHD may have closed it already, and a second close
  // could hit another thread's descriptor. The error ends the process.
  if (daemon == nullptr) return make_error("--metrics " + address + ": the HTTP server did not start");
  server->daemon_.reset(daemon);  // from here on MHD owns fd
  return server;
}

MetricsServer::MetricsServer(std::string bound, unsigned connection_limit, Handler handler)
    : bound_(std::move(bound)), connection_limit_(connection_limit), handler_(std::move(handler)) {}

MetricsServer::~MetricsServer() = default;

unsigned MetricsServer::connections_for_test() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info != nullptr ? info->num_connections : 0;
}

}  // namespace offpath
