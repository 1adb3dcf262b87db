// `sluice run`: the appliance, with the optional built-in load and a live progress line.
#include <cstdio>
#include <optional>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "builtin_load.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "exit_codes.hpp"
#include "kafka/topic_check.hpp"
#include "pipeline/pipeline.hpp"
#include "run_messages.hpp"
#include "run_supervisor.hpp"
#include "sink_factory.hpp"

namespace sluice {

namespace {

// The configuration with the command line on top, and how its output is to be written.
struct run_plan {
    settings cfg;
    bool json_logs = false;
    bool until_caught_up = false;
};

run_plan plan_run(const run_options& o) {
    run_plan plan{load_settings(o.config, o.sets)};
    settings& cfg = plan.cfg;
    log_configure(*parse_log_level(cfg.log_level), cfg.log_format == "json");
    // With JSON logs, stdout carries no free text: the start and stop lines
    // become log lines and the progress line is left out.
    plan.json_logs = cfg.log_format == "json";
    if (plan.json_logs) {
        cfg.progress = false;
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
    }
    if (o.duration_s >= 0) cfg.duration_s = o.duration_s;
    if (!o.source.empty()) parse_source("--source", o.source, cfg);
    // A replay ends with its file, like --until-caught-up.
    plan.until_caught_up = o.until_caught_up || !cfg.replay_file.empty();
    if (!cfg.stats_http.empty() && !cfg.stats_http_loopback())
        logf(log_level::warning, "stats", "stats.http %s is not a loopback address: /metrics, /stats, /health and /ready "
             "are open to whoever reaches it (no authentication)", cfg.stats_http.c_str());
    return plan;
}

// Offers load once the group has assigned partitions, so the first events do
// not wait out the group join. False if SIGINT/SIGTERM came first.
bool wait_for_first_assignment(pipeline& p) {
    for (int i = 0; i < 300 && p.metrics().source.assigned_partitions.get() == 0; ++i)
        if (wait_for_shutdown_signal(100)) return false;
    return true;
}

int exit_status(const pipeline& p, bool until_caught_up, bool reached_end) {
    // Events done but not committed will be processed again by whoever reads the partitions next.
    if (!p.unconfirmed().empty()) return exit_code::not_committed;
    if (until_caught_up && !reached_end) return exit_code::failure;
    return p.source_failed() ? exit_code::failure : exit_code::done;
}

}  // namespace

int run_command(const run_options& o) {
    run_plan plan = plan_run(o);
    const settings& cfg = plan.cfg;
    // The embedded broker creates every topic the configuration names.
    if (cfg.bootstrap_servers != "embedded") check_topics(cfg, cfg.bootstrap_servers, 10000);
    pipeline p(cfg, make_seed_sink, seed_schema());
    say_start(plan.json_logs, cfg, p);
    p.start();

    std::optional<builtin_load> load;
    if (cfg.loadgen_rate > 0) {
        if (!wait_for_first_assignment(p)) {
            p.stop();
            return p.unconfirmed().empty() ? exit_code::done : exit_code::not_committed;
        }
        load.emplace(p.bootstrap(), cfg);
    }

    run_supervisor supervisor(p, cfg, o, plan.until_caught_up);
    run_end end{plan.until_caught_up};
    end.reached_end = supervisor.run();
    end.caught_up_ns = mono_ns();
    supervisor.stopping();
    load.reset();
    p.stop();
    say_stopped(plan.json_logs, cfg, p, end);
    return exit_status(p, plan.until_caught_up, end.reached_end);
}

}  // namespace sluice
