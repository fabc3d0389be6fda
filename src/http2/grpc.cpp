#include "http2/grpc.hpp"

#include <charconv>

namespace offpath::http2 {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool is_grpc_content_type(std::string_view ct) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size()) return false;
  for (std::size_t i = 0; i < kGrpc.size(); ++i) {
    char c = ct[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kGrpc[i]) return false;
  }
  return ct.size() == kGrpc.size() || ct[kGrpc.size()] == '+' || ct[kGrpc.size()] == ';';
}

bool split_grpc_path(std::string_view path, std::string& service, std::string& method) {
  if (path.size() < 4 || path[0] != '/') return false;
  const auto slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return false;
  if (path.find('/', slash + 1) != std::string_view::npos) return false;
  service.assign(path.substr(1, slash - 1));
  method.assign(path.substr(slash + 1));
  return true;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void fill_grpc(Exchange& ex) {
  const std::string* ct = nullptr;
  if (ex.request) ct = ex.request->header("content-type");
  if ((ct == nullptr || !is_grpc_content_type(*ct)) && ex.response) {
    ct = ex.response->header("content-type");
  }
  if (ct == nullptr || !is_grpc_content_type(*ct)) return;
  GrpcInfo g;
  if (ex.request) split_grpc_path(ex.request->uri, g.service, g.method);
  if (ex.response) {
    if (const auto* st = ex.response->header("grpc-status")) {
      int v = -1;
      auto [p, ec] = std::from_chars(st->data(), st->data() + st->size(), v);
      if (ec == std::errc() && p == st->data() + st->size() && v >= 0) g.status = v;
    }
    if (const auto* m = ex.response->header("grpc-message")) g.message = percent_decode(*m);
  }
  ex.grpc = std::move(g);
}

}  // namespace offpath::http2
