// The control thread's loop while `sluice run` runs: systemd, SIGHUP, the stop conditions, the progress line.
#pragma once

#include <cstdint>
#include <string>

#include "commands.hpp"
#include "config/config.hpp"
#include "config_reload.hpp"
#include "pipeline/pipeline.hpp"
#include "role_watch.hpp"
#include "run_progress.hpp"
#include "service_notifier.hpp"

namespace sluice {

// Design: control (main) thread only; constructed once the pipeline runs
// (and the built-in load, if any, produces), which is when the watchdog and
// the progress line start counting.
class run_supervisor {
public:
    // until_caught_up: also stop once every assigned partition is committed
    // up to its end at assignment.
    run_supervisor(pipeline& p, const settings& cfg, const run_options& o, bool until_caught_up);

    // Returns at SIGINT/SIGTERM, at run.duration.s, when the source failed
    // or (until_caught_up) at the end: true in that last case only.
    bool run();
    // The drain begins: ends the progress line, tells systemd.
    void stopping();

private:
    void report_health(std::int64_t now_ns);
    bool shutdown_signal(int ms);
    bool at_end();
    void report_progress(std::int64_t now_ns);

    pipeline& p_;
    pipeline_metrics& m_;
    const settings& cfg_;
    const bool until_caught_up_;
    const std::int64_t start_ns_;
    service_notifier notifier_;
    const std::int64_t stall_ms_;
    role_watch watch_;
    const int wait_ms_;
    config_reloader reloader_;
    bool ready_ = false;
    progress_line progress_;
};

}  // namespace sluice
