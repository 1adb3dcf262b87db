// sd_notify(3) from libsystemd: the protocol and its environment variables are libsystemd's.
#include "service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "base/log.hpp"

namespace sluice {

service_notifier::service_notifier() {
    enabled_ = std::getenv("NOTIFY_SOCKET") != nullptr;
    std::uint64_t usec = 0;
    // 0: keep WATCHDOG_USEC in the environment; it only names this process.
    if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ms_ = static_cast<std::int64_t>(usec / 1000);
}

void service_notifier::send(const std::string& message) {
    if (!enabled_) return;
    if (const int rc = sd_notify(0, message.c_str()); rc < 0)
        logf(log_level::warning, "systemd", "sd_notify failed: error %d", -rc);
}

void service_notifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void service_notifier::status(const std::string& status) { send("STATUS=" + status); }
void service_notifier::watchdog() { send("WATCHDOG=1"); }
void service_notifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }

}  // namespace sluice
