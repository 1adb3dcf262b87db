// Tells systemd how the service is doing (sd_notify): READY, STATUS, WATCHDOG, STOPPING.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

// Design: control (main) thread only. Without NOTIFY_SOCKET in the
// environment (not started by systemd as Type=notify) every call does nothing.
class service_notifier {
public:
    service_notifier();

    bool enabled() const noexcept { return enabled_; }
    // WATCHDOG_USEC / 1000, or 0 when systemd expects no pings.
    std::int64_t watchdog_ms() const noexcept { return watchdog_ms_; }

    void ready(const std::string& status);
    void status(const std::string& status);
    void watchdog();
    void stopping(const std::string& status);

private:
    void send(const std::string& message);
    bool enabled_ = false;
    std::int64_t watchdog_ms_ = 0;
};

}  // namespace sluice
