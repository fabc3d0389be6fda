// Failure origin: who produced the failure a client-leg exchange shows, from the client
// exchange and the upstream attempts joined to it:
//   upstream  the backend answered the failure (the client got the status the last
//             attempt got) or reset the connection (unless the gateway answered 504: a
//             gateway that times out resets the connection itself);
//   gateway   the gateway produced the status itself: no upstream attempt, the upstream
//             refused, was unreachable or timed out, or a status of its own (413, 429,
//             or any status the last attempt did not get);
//   client    the client went away before the response (nginx's 499);
//   none      not a failure.
// Also whether the last attempt went unanswered (the meaning of backend_unavailable).
// Pure functions; join thread.
#pragma once

#include <vector>

#include "exchange/exchange.hpp"

namespace offpath {

// The attempt got no answer from the backend: refused, not connected, timed out, reset or
// closed without a status line.
bool unanswered(const UpstreamTry& attempt);

// The client went away before any response: it closed or reset its connection, or (HTTP/2)
// reset its stream (a gRPC client whose deadline passed cancels the call: nginx's 499).
bool client_went_away(const Exchange& client);

// `failed_status`: the client exchange's status counts as a failure (classification).
FailureOrigin failure_origin(const Exchange& client, const std::vector<UpstreamTry>& tries,
                             bool failed_status);

}  // namespace offpath
