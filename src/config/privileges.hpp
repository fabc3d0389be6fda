// Dropping root: once capture handles are open and the BPF program is loaded, offpath
// continues as an unprivileged user with only the capabilities capture still needs
// (libcap). Main thread only, once, before the pipeline starts its worker threads (they
// inherit the reduced set); threads started earlier (librdkafka's) lose every capability
// with the change of user, since the kernel clears them for any thread without KEEPCAPS.
#pragma once

#include <string>
#include <sys/types.h>

#include "common/result.hpp"

namespace offpath {

enum class CaptureCaps {
  None,  // replays
  Pcap,  // CAP_NET_RAW
  Ebpf,  // CAP_BPF, CAP_NET_ADMIN (TC detach at exit), CAP_PERFMON
};

struct TargetUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The user to run as: `name` if given ("root" keeps root), else offpath if it exists,
// else nobody. Error when a named user does not exist.
Result<TargetUser> resolve_user(const std::string& name);

// As root: clears supplementary groups, switches to `user` and keeps only `caps` in the
// permitted and effective sets of the calling thread (bounding set reduced too). Not
// root: only reduces the capabilities to `caps`. No-op when `user` is root.
Result<void> drop_privileges(const TargetUser& user, CaptureCaps caps);
// Stays root but keeps only `caps` (when a directory offpath must write is not reachable
// by the target user).
Result<void> limit_capabilities(CaptureCaps caps);

// True when `user` can walk down to `dir` (execute permission on every ancestor), so that a
// directory handed to it (the Kafka spool) stays usable after the switch.
bool reachable_by(const std::string& dir, const TargetUser& user);

// "cap_net_raw" etc., for logs.
std::string describe(CaptureCaps caps);

}  // namespace offpath
