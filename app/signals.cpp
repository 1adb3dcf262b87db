// Waiting for SIGINT/SIGTERM (and SIGHUP) on the main thread.
#include <signal.h>

#include <ctime>

#include "commands.hpp"

namespace sluice {

bool wait_for_shutdown_signal(int timeout_ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
    return sigtimedwait(&set, nullptr, &ts) > 0;
}

int wait_for_signal(int timeout_ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

}  // namespace sluice
