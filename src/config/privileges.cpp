#include "config/privileges.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace offpath {
namespace {

std::vector<cap_value_t> caps_for(CaptureCaps caps) {
  switch (caps) {
    case CaptureCaps::None:
      return {};
    case CaptureCaps::Pcap:
      return {CAP_NET_RAW};
    case CaptureCaps::Ebpf:
      return {CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON};
  }
  return {};
}

Error os_error(const std::string& what) {
  return make_error("dropping privileges: " + what + ": " + std::strerror(errno));
}

Result<void> set_caps(const std::vector<cap_value_t>& keep) {
  cap_t c = cap_init();  // all clear
  if (c == nullptr) return os_error("cap_init");
  bool ok = true;
  if (!keep.empty()) {
    ok = cap_set_flag(c, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET) == 0 &&
         cap_set_flag(c, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET) == 0;
  }
  if (ok) ok = cap_set_proc(c) == 0;
  const int saved = errno;
  cap_free(c);
  errno = saved;
  if (!ok) return os_error("cap_set_proc");
  return {};
}

}  // namespace

std::string describe(CaptureCaps caps) {
  switch (caps) {
    case CaptureCaps::None:
      return "none";
    case CaptureCaps::Pcap:
      return "cap_net_raw";
    case CaptureCaps::Ebpf:
      return "cap_bpf,cap_net_admin,cap_perfmon";
  }
  return "none";
}

bool reachable_by(const std::string& dir, const TargetUser& user) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  if (ec) return false;
  for (p = p.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return false;
    const bool x = st.st_uid == user.uid   ? (st.st_mode & S_IXUSR) != 0
                   : st.st_gid == user.gid ? (st.st_mode & S_IXGRP) != 0
                                           : (st.st_mode & S_IXOTH) != 0;
    if (!x) return false;
    if (p == p.root_path()) break;
  }
  return true;
}

Result<void> limit_capabilities(CaptureCaps caps) { return set_caps(caps_for(caps)); }

Result<TargetUser> resolve_user(const std::string& name) {
  auto lookup = [](const std::string& n) -> const passwd* { return ::getpwnam(n.c_str()); };
  const passwd* pw = nullptr;
  if (!name.empty()) {
    pw = lookup(name);
    if (pw == nullptr) return make_error("--user " + name + ": no such user");
  } else {
    pw = lookup("offpath");
    if (pw == nullptr) pw = lookup("nobody");
    if (pw == nullptr) return make_error("--user: neither user offpath nor nobody exists");
  }
  return TargetUser{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

Result<void> drop_privileges(const TargetUser& user, CaptureCaps caps) {
  if (user.uid == 0) return {};
  const std::vector<cap_value_t> keep = caps_for(caps);
  if (::geteuid() != 0) return set_caps(keep);

  // Nothing beyond `keep` may come back through exec (setuid binaries, file caps).
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    bool needed = false;
    for (cap_value_t k : keep) needed = needed || k == cap;
    if (!needed && CAP_IS_SUPPORTED(cap) && cap_drop_bound(cap) != 0) {
      return os_error("cap_drop_bound");
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) return os_error("PR_SET_KEEPCAPS");
  if (::setgroups(0, nullptr) != 0) return os_error("setgroups");
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return os_error("setresgid");
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return os_error("setresuid");
  if (::prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) return os_error("PR_SET_KEEPCAPS");
  if (auto r = set_caps(keep); !r) return r;
  if (::setresuid(0, 0, 0) == 0) return make_error("dropping privileges: could regain root");
  return {};
}

}  // namespace offpath
