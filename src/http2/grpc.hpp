// gRPC fields of an HTTP/2 exchange (content-type application/grpc*): service and
// method from the request path, grpc-status and grpc-message from the response (its
// trailers, or its only header block for a trailers-only response). Pure functions;
// called by Http2Session on the worker thread when a stream's exchange is emitted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "exchange/exchange.hpp"

namespace offpath::http2 {

bool is_grpc_content_type(std::string_view content_type);
// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; false if the path is not so shaped.
bool split_grpc_path(std::string_view path, std::string& service, std::string& method);
// grpc-message is percent-encoded (gRPC over HTTP/2 spec); invalid escapes stay as sent.
std::string percent_decode(std::string_view s);
// Sets ex.grpc when the request or the response is gRPC.
void fill_grpc(Exchange& ex);

}  // namespace offpath::http2
