// systemd integration (Type=notify): READY=1 once capture runs, WATCHDOG=1 from the
// service thread, STOPPING=1 at shutdown, STATUS= for `systemctl status`. Each call is a
// no-op outside systemd (no NOTIFY_SOCKET). Thread-safe (sd_notify only sends a datagram).
#pragma once

#include <chrono>
#include <string>

namespace offpath {

void notify_ready(const std::string& status);
void notify_stopping();
void notify_status(const std::string& status);
void notify_watchdog();
// Half the WatchdogSec= interval when the watchdog is on (ping at least that often), else 0.
std::chrono::milliseconds watchdog_ping_interval();

}  // namespace offpath
