// `sluice run`: the appliance, with the optional built-in load and a live progress line.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <thread>

#include "clock.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "human_units.hpp"
#include "config.hpp"
#include "load_producer.hpp"
#include "log.hpp"
#include "config_reload.hpp"
#include "pipeline.hpp"
#include "role_watch.hpp"
#include "service_notifier.hpp"
#include "topic_check.hpp"
#include "seed_events.hpp"
#include "sink_factory.hpp"

namespace sluice {

namespace {

histogram::snapshot_t end_to_end(pipeline_metrics& m) {
    histogram::snapshot_t s;  // recorded per releasing thread: merge them
    for (auto& r : m.releases) s.merge(r.end_to_end.snapshot());
    return s;
}

struct totals {
    std::uint64_t lag = 0, exposure = 0;
};
// Every assigned partition processed (committed, when `committed`) up to the
// end it had when assigned.
bool caught_up(pipeline_metrics& m, bool committed) {
    if (m.source.assigned_partitions.get() == 0) return false;
    const std::uint32_t n = m.partition_count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
        const partition_view& p = m.partitions[i];
        if (!p.assigned.load(std::memory_order_acquire)) continue;
        const std::int64_t end = p.end_at_assign.load(std::memory_order_acquire);
        const std::int64_t start = p.start_offset.load(std::memory_order_relaxed);
        if (end < 0) return false;  // end unknown: keep going
        const std::int64_t reached = committed ? p.committed_offset.load(std::memory_order_relaxed)
                                               : p.commit_offset.load(std::memory_order_relaxed);
        if (end > start && reached < end) return false;
    }
    return true;
}

// Over the assigned partitions; after the stop (when none is assigned), over
// every partition's last state (its exposure after the final commit).
totals partition_totals(pipeline_metrics& m, bool stopped = false) {
    totals t;
    const std::uint32_t n = m.partition_count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
        const partition_view& p = m.partitions[i];
        if (!stopped && !p.assigned.load(std::memory_order_relaxed)) continue;
        const std::int64_t hw = p.high_watermark.load(std::memory_order_relaxed);
        const std::int64_t c = std::max<std::int64_t>(p.committed_offset.load(std::memory_order_relaxed), 0);
        if (hw > c) t.lag += static_cast<std::uint64_t>(hw - c);
        t.exposure += p.exposure.load(std::memory_order_relaxed);
    }
    return t;
}

// A line for the operator: stdout, or a log line when logs are JSON.
__attribute__((format(printf, 2, 3))) void say(bool json_logs, const char* format, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, format);
    const int n = std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    std::string_view line(buf, n < 0 ? 0 : std::min<std::size_t>(std::size_t(n), sizeof buf - 1));
    if (!json_logs) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        return;
    }
    if (line.rfind("sluice: ", 0) == 0) line.remove_prefix(8);
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    log_write(log_level::info, "run", line);
}

}  // namespace

int run_command(const run_options& o) {
    settings cfg = load_settings(o.config, o.sets);
    log_configure(*parse_log_level(cfg.log_level), cfg.log_format == "json");
    // With JSON logs, stdout carries no free text: the start and stop lines
    // become log lines and the progress line is left out.
    const bool json_logs = cfg.log_format == "json";
    if (json_logs) {
        cfg.progress = false;
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
    }
    if (o.duration_s >= 0) cfg.duration_s = o.duration_s;
    if (!o.source.empty()) parse_source("--source", o.source, cfg);
    const bool replay = !cfg.replay_file.empty();
    // A replay ends with its file, like --until-caught-up.
    const bool until_caught_up = o.until_caught_up || replay;

    if (!cfg.stats_http.empty() && !cfg.stats_http_loopback())
        logf(log_level::warning, "stats", "stats.http %s is not a loopback address: /metrics, /stats, /health and /ready "
             "are open to whoever reaches it (no authentication)", cfg.stats_http.c_str());
    // The embedded broker creates every topic the configuration names.
    if (cfg.bootstrap_servers != "embedded") check_topics(cfg, cfg.bootstrap_servers, 10000);
    pipeline p(cfg, make_seed_sink, seed_schema());
    std::string topics;
    for (const auto& t : cfg.topics) topics += (topics.empty() ? "" : ",") + t;
    if (replay)
        say(json_logs, "sluice: replaying %s (offsets are line numbers; dead letters to replay%s on %s%s); stats on %s%s%s\n",
                    cfg.replay_file.c_str(), cfg.dlq_suffix.c_str(), p.bootstrap().c_str(),
                    cfg.bootstrap_servers == "embedded" ? ", the embedded broker" : "", cfg.stats_socket.c_str(),
                    cfg.stats_http.empty() ? "" : " and http://", cfg.stats_http.c_str());
    else
        say(json_logs, "sluice: consuming %s from %s%s as group %s; stats on %s%s%s\n", topics.c_str(),
                    p.bootstrap().c_str(), cfg.bootstrap_servers == "embedded" ? " (embedded broker)" : "",
                    cfg.group_id.c_str(), cfg.stats_socket.c_str(), cfg.stats_http.empty() ? "" : " and http://",
                    cfg.stats_http.c_str());
    std::fflush(stdout);
    p.start();

    std::atomic<bool> stop_load{false};
    std::thread load_thread;
    if (cfg.loadgen_rate > 0) {
        // Offer load once the group has assigned partitions, so the first
        // events do not wait out the group join.
        for (int i = 0; i < 300 && p.metrics().source.assigned_partitions.get() == 0; ++i)
            if (wait_for_shutdown_signal(100)) {
                p.stop();
                return p.unconfirmed().empty() ? exit_code::done : exit_code::not_committed;
            }
        load_thread = std::thread([&] {
            pthread_setname_np(pthread_self(), "loadgen");
            try {
                load_producer producer(p.bootstrap(), cfg.producer_properties);
                seed_generator gen(1);
                seed_event ev;
                producer.run(cfg.loadgen_rate, cfg.loadgen_count, 0, stop_load,
                             [&](std::uint64_t, std::int64_t now) {
                                 gen.next(ev, now);
                                 return load_message{ev.topic, ev.key, ev.value};
                             });
            } catch (const std::exception& e) {
                logf(log_level::error, "loadgen", "load generator: %s", e.what());
            }
        });
    }

    pipeline_metrics& m = p.metrics();
    const bool tty = isatty(STDOUT_FILENO);
    const std::int64_t start = mono_ns();
    service_notifier notifier;
    // Stalled: no loop for half the watchdog period (without one, for a
    // minute: /health reports it); above the revoke drain, during which the
    // source loops in its wait.
    const std::int64_t stall_ms = notifier.watchdog_ms() > 0 ? notifier.watchdog_ms() / 2 : 60'000;
    role_watch watch(p.heartbeats(), stall_ms * 1'000'000, start);
    const int wait_ms = notifier.watchdog_ms() > 0 ? int(std::clamp<std::int64_t>(notifier.watchdog_ms() / 4, 5, 1000)) : 1000;
    config_reloader reloader(o, cfg);
    // SIGHUP reloads; true once SIGINT/SIGTERM arrived.
    auto shutdown_signal = [&](int ms) {
        for (;;) {
            const int sig = wait_for_signal(ms);
            if (sig != SIGHUP) return sig != 0;
            reloader.reload(p);
            ms = 0;  // the rest of the wait is not worth tracking
        }
    };
    bool ready = false;
    std::string status = "starting: waiting for the first rebalance";
    notifier.status(status);
    std::int64_t last = start;
    std::uint64_t last_consumed = 0;
    histogram::snapshot_t last_e2e = end_to_end(m), last_decode = m.source.decode.snapshot();
    const int every_s = tty ? 1 : 5;
    bool reached_end = false;
    for (;;) {
        if (p.source_failed()) break;
        {
            const std::int64_t now = mono_ns();
            if (!ready && p.update_readiness()) {
                ready = true;
                const std::uint64_t n = m.source.assigned_partitions.get();
                status = "ready: " + std::to_string(n) + (n == 1 ? " partition" : " partitions") + " assigned";
                notifier.ready(status);
                log_write(log_level::info, "lifecycle", status);
            }
            const char* stalled = watch.stalled(now);
            m.stalled_role.store(stalled, std::memory_order_release);
            if (stalled)
                logf(log_level::error, "watchdog", "the %s thread has not looped for %lld ms: not pinging the watchdog",
                     stalled, static_cast<long long>(stall_ms));
            else
                notifier.watchdog();
        }
        if (until_caught_up) {
            if (shutdown_signal(5)) break;
            // Everything processed: commit it now rather than at the interval.
            if (caught_up(m, false) && !caught_up(m, true)) p.request_commit();
            if (caught_up(m, true)) {
                reached_end = true;
                break;
            }
        } else if (shutdown_signal(wait_ms)) {
            break;
        }
        const std::int64_t now = mono_ns();
        if (cfg.duration_s > 0 && double(now - start) / 1e9 >= cfg.duration_s) break;
        if ((!cfg.progress && !notifier.enabled()) || double(now - last) / 1e9 < every_s) continue;
        const std::uint64_t consumed = m.source.consumed.get();
        const double rate = double(consumed - last_consumed) / (double(now - last) / 1e9);
        last = now;
        last_consumed = consumed;
        const totals t = partition_totals(m);
        // Percentiles over the last interval, not since start.
        const auto e2e = end_to_end(m), decode = m.source.decode.snapshot();
        const auto e2e_now = e2e.since(last_e2e), decode_now = decode.since(last_decode);
        last_e2e = e2e;
        last_decode = decode;
        char line[512];
        std::snprintf(line, sizeof line, "[%4.0fs] consumed %llu (%.0f/s) dead-lettered %llu | decode p99 %s | e2e p99 %s | commit p99 %s | lag %llu | exposure %llu",
                      double(now - start) / 1e9, static_cast<unsigned long long>(consumed), rate,
                      static_cast<unsigned long long>(m.source.dead_lettered.get()),
                      human_ns(decode_now.percentile(99)).c_str(), human_ns(e2e_now.percentile(99)).c_str(),
                      human_ns(m.commit.round_trip.snapshot().percentile(99)).c_str(),
                      static_cast<unsigned long long>(t.lag), static_cast<unsigned long long>(t.exposure));
        if (ready) notifier.status(line);
        if (cfg.progress) {
            std::printf("%s%s%s", tty ? "\r" : "", line, tty ? "   " : "\n");
            std::fflush(stdout);
        }
    }
    const std::int64_t caught_up_at = mono_ns();
    if (tty && cfg.progress) std::printf("\n");
    notifier.stopping("stopping: draining in-flight events and committing");
    stop_load.store(true);
    if (load_thread.joinable()) load_thread.join();
    p.stop();
    const totals t = partition_totals(m, true);
    say(json_logs, "sluice: stopped: consumed %llu, decoded %llu, dead-lettered %llu, committed %llu commits; replay exposure %llu\n",
                static_cast<unsigned long long>(m.source.consumed.get()),
                static_cast<unsigned long long>(m.source.decoded.get()),
                static_cast<unsigned long long>(m.source.dead_lettered.get()),
                static_cast<unsigned long long>(m.commit.commits.get()), static_cast<unsigned long long>(t.exposure));
    // The final commit did not cover everything done: those events will be
    // processed again by whoever reads the partitions next.
    // One line per partition on stdout (the logger would rate-limit them).
    const int unconfirmed = p.unconfirmed().empty() ? 0 : exit_code::not_committed;
    for (const std::string& line : p.unconfirmed())
        say(json_logs, "sluice: final commit not confirmed: %s\n", line.c_str());
    if (replay) {
        const partition_view& v = m.partitions[0];
        say(json_logs, "sluice: replay of %s: every line before line %lld is done (%llu lines read)\n",
                    cfg.replay_file.c_str(), static_cast<long long>(std::max<std::int64_t>(v.committed_offset.load(), 1)),
                    static_cast<unsigned long long>(m.source.consumed.get()));
    }
    if (until_caught_up) {
        if (!reached_end) {
            say(json_logs, "not caught up: %s\n", p.source_failed() ? "the source failed" : "stopped by signal or duration");
            return unconfirmed ? unconfirmed : exit_code::failure;
        }
        // From the first event consumed (the group join is not counted) to the final commit.
        const std::int64_t first = p.source().first_event_mono_ns();
        const double secs = first ? double(caught_up_at - first) / 1e9 : 0.0;
        const std::uint64_t n = m.source.consumed.get();
        say(json_logs, "caught up: %llu events in %.3f s (%.0f events/s)\n", static_cast<unsigned long long>(n), secs,
                    secs > 0 ? double(n) / secs : 0.0);
    }
    if (unconfirmed) return unconfirmed;
    return p.source_failed() ? exit_code::failure : exit_code::done;
}

}  // namespace sluice
