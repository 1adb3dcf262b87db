// The control loop of `sluice run`: readiness and watchdog pings, reloads, when to stop, progress.
#include "run_supervisor.hpp"

#include <signal.h>

#include <algorithm>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

namespace {

// Stalled: no loop for half the watchdog period (without one, for a
// minute: /health reports it); above the revoke drain, during which the
// source loops in its wait.
std::int64_t stall_ms(const service_notifier& n) { return n.watchdog_ms() > 0 ? n.watchdog_ms() / 2 : 60'000; }

// The loop's wait, so that the watchdog gets a ping every quarter of its period.
int wait_ms(const service_notifier& n) {
    return n.watchdog_ms() > 0 ? int(std::clamp<std::int64_t>(n.watchdog_ms() / 4, 5, 1000)) : 1000;
}

}  // namespace

run_supervisor::run_supervisor(pipeline& p, const settings& cfg, const run_options& o, bool until_caught_up)
    : p_(p),
      m_(p.metrics()),
      cfg_(cfg),
      until_caught_up_(until_caught_up),
      start_ns_(mono_ns()),
      stall_ms_(stall_ms(notifier_)),
      watch_(p.heartbeats(), stall_ms_ * 1'000'000, start_ns_),
      wait_ms_(wait_ms(notifier_)),
      reloader_(o, cfg),
      progress_(m_, cfg.progress, start_ns_) {
    notifier_.status("starting: waiting for the first rebalance");
}

bool run_supervisor::run() {
    for (;;) {
        if (p_.source_failed()) return false;
        report_health(mono_ns());
        if (until_caught_up_) {
            if (shutdown_signal(5)) return false;
            if (at_end()) return true;
        } else if (shutdown_signal(wait_ms_)) {
            return false;
        }
        const std::int64_t now = mono_ns();
        if (cfg_.duration_s > 0 && double(now - start_ns_) / 1e9 >= cfg_.duration_s) return false;
        report_progress(now);
    }
}

void run_supervisor::stopping() {
    progress_.finish();
    notifier_.stopping("stopping: draining in-flight events and committing");
}

// Readiness once, then the watchdog: pinged only while no role has stalled.
void run_supervisor::report_health(std::int64_t now) {
    if (!ready_ && p_.update_readiness()) {
        ready_ = true;
        const std::uint64_t n = m_.source.assigned_partitions.get();
        const std::string status = "ready: " + std::to_string(n) + (n == 1 ? " partition" : " partitions") + " assigned";
        notifier_.ready(status);
        log_write(log_level::info, "lifecycle", status);
    }
    const char* stalled = watch_.stalled(now);
    m_.stalled_role.store(stalled, std::memory_order_release);
    if (stalled)
        logf(log_level::error, "watchdog", "the %s thread has not looped for %lld ms: not pinging the watchdog",
             stalled, static_cast<long long>(stall_ms_));
    else
        notifier_.watchdog();
}

// SIGHUP reloads; true once SIGINT/SIGTERM arrived.
bool run_supervisor::shutdown_signal(int ms) {
    for (;;) {
        const int sig = wait_for_signal(ms);
        if (sig != SIGHUP) return sig != 0;
        reloader_.reload(p_);
        ms = 0;  // the rest of the wait is not worth tracking
    }
}

bool run_supervisor::at_end() {
    // Everything processed: commit it now rather than at the interval.
    if (caught_up(m_, false) && !caught_up(m_, true)) p_.request_commit();
    return caught_up(m_, true);
}

void run_supervisor::report_progress(std::int64_t now) {
    if ((!progress_.shown() && !notifier_.enabled()) || !progress_.due(now)) return;
    const char* line = progress_.next(now);
    if (ready_) notifier_.status(line);
    progress_.print(line);
}

}  // namespace sluice
