#include "join/failure_origin.hpp"

namespace offpath {

bool unanswered(const UpstreamTry& attempt) { return attempt.status == 0; }

bool client_went_away(const Exchange& client) {
  if (client.response) return false;
  if (client.outcome == Outcome::ConnectionClosed || client.outcome == Outcome::ConnectionReset) {
    return true;
  }
  // The HTTP/2 session names the side that sent the stream's first RST_STREAM.
  return client.outcome == Outcome::StreamReset && client.error_detail.ends_with(" from client");
}

FailureOrigin failure_origin(const Exchange& client, const std::vector<UpstreamTry>& tries,
                             bool failed_status) {
  const int status = client.response ? client.response->status : 0;
  if (status == 0) {
    // No response: the client closed or reset first (a capture that ended or a timeout
    // says nothing about who gave up).
    return client_went_away(client) ? FailureOrigin::Client : FailureOrigin::None;
  }
  if (status == 499) return FailureOrigin::Client;
  if (!failed_status) return FailureOrigin::None;
  if (tries.empty()) return FailureOrigin::Gateway;
  const UpstreamTry& last = tries.back();
  if (last.status == status) return FailureOrigin::Upstream;
  // A reset or close before a whole response head: the backend's doing, unless the
  // gateway timed out (504) and closed or reset the connection itself.
  if (last.status == 0 &&
      (last.outcome == Outcome::ConnectionReset || last.outcome == Outcome::ConnectionClosed)) {
    return status == 504 ? FailureOrigin::Gateway : FailureOrigin::Upstream;
  }
  return FailureOrigin::Gateway;
}

}  // namespace offpath
