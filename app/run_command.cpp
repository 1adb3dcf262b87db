// `sluice run`: the appliance, with the optional built-in load and a live progress line.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "clock.hpp"
#include "commands.hpp"
#include "human_units.hpp"
#include "config.hpp"
#include "load_producer.hpp"
#include "pipeline.hpp"
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

}  // namespace

int run_command(const run_options& o) {
    settings cfg = load_settings(o.config, o.sets);
    if (o.duration_s >= 0) cfg.duration_s = o.duration_s;
    if (!o.source.empty()) parse_source("--source", o.source, cfg);
    const bool replay = !cfg.replay_file.empty();
    // A replay ends with its file, like --until-caught-up.
    const bool until_caught_up = o.until_caught_up || replay;

    pipeline p(cfg, make_seed_sink);
    std::string topics;
    for (const auto& t : cfg.topics) topics += (topics.empty() ? "" : ",") + t;
    if (replay)
        std::printf("sluice: replaying %s (offsets are line numbers; dead letters to replay%s on %s%s); stats on %s%s%s\n",
                    cfg.replay_file.c_str(), cfg.dlq_suffix.c_str(), p.bootstrap().c_str(),
                    cfg.bootstrap_servers == "embedded" ? ", the embedded broker" : "", cfg.stats_socket.c_str(),
                    cfg.stats_http.empty() ? "" : " and http://", cfg.stats_http.c_str());
    else
        std::printf("sluice: consuming %s from %s%s as group %s; stats on %s%s%s\n", topics.c_str(),
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
                return p.unconfirmed().empty() ? 0 : 75;
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
                std::fprintf(stderr, "sluice: load generator: %s\n", e.what());
            }
        });
    }

    pipeline_metrics& m = p.metrics();
    const bool tty = isatty(STDOUT_FILENO);
    const std::int64_t start = mono_ns();
    std::int64_t last = start;
    std::uint64_t last_consumed = 0;
    histogram::snapshot_t last_e2e = end_to_end(m), last_decode = m.source.decode.snapshot();
    const int every_s = tty ? 1 : 5;
    bool reached_end = false;
    for (;;) {
        if (p.source_failed()) break;
        if (until_caught_up) {
            if (wait_for_shutdown_signal(5)) break;
            // Everything processed: commit it now rather than at the interval.
            if (caught_up(m, false) && !caught_up(m, true)) p.request_commit();
            if (caught_up(m, true)) {
                reached_end = true;
                break;
            }
        } else if (wait_for_shutdown_signal(1000)) {
            break;
        }
        const std::int64_t now = mono_ns();
        if (cfg.duration_s > 0 && double(now - start) / 1e9 >= cfg.duration_s) break;
        if (!cfg.progress || double(now - last) / 1e9 < every_s) continue;
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
        std::printf("%s[%4.0fs] consumed %llu (%.0f/s) dead-lettered %llu | decode p99 %s | e2e p99 %s | commit p99 %s | lag %llu | exposure %llu%s",
                    tty ? "\r" : "", double(now - start) / 1e9, static_cast<unsigned long long>(consumed), rate,
                    static_cast<unsigned long long>(m.source.dead_lettered.get()),
                    human_ns(decode_now.percentile(99)).c_str(), human_ns(e2e_now.percentile(99)).c_str(),
                    human_ns(m.commit.round_trip.snapshot().percentile(99)).c_str(),
                    static_cast<unsigned long long>(t.lag), static_cast<unsigned long long>(t.exposure),
                    tty ? "   " : "\n");
        std::fflush(stdout);
    }
    const std::int64_t caught_up_at = mono_ns();
    if (tty && cfg.progress) std::printf("\n");
    stop_load.store(true);
    if (load_thread.joinable()) load_thread.join();
    p.stop();
    const totals t = partition_totals(m, true);
    std::printf("sluice: stopped: consumed %llu, decoded %llu, dead-lettered %llu, committed %llu commits; replay exposure %llu\n",
                static_cast<unsigned long long>(m.source.consumed.get()),
                static_cast<unsigned long long>(m.source.decoded.get()),
                static_cast<unsigned long long>(m.source.dead_lettered.get()),
                static_cast<unsigned long long>(m.commit.commits.get()), static_cast<unsigned long long>(t.exposure));
    // The final commit did not cover everything done: those events will be
    // processed again by whoever reads the partitions next.
    const int unconfirmed = p.unconfirmed().empty() ? 0 : 75;
    for (const std::string& line : p.unconfirmed())
        std::fprintf(stderr, "sluice: final commit not confirmed: %s\n", line.c_str());
    if (replay) {
        const partition_view& v = m.partitions[0];
        std::printf("sluice: replay of %s: every line before line %lld is done (%llu lines read)\n",
                    cfg.replay_file.c_str(), static_cast<long long>(std::max<std::int64_t>(v.committed_offset.load(), 1)),
                    static_cast<unsigned long long>(m.source.consumed.get()));
    }
    if (until_caught_up) {
        if (!reached_end) {
            std::printf("not caught up: %s\n", p.source_failed() ? "the source failed" : "stopped by signal or duration");
            return unconfirmed ? unconfirmed : 1;
        }
        // From the first event consumed (the group join is not counted) to the final commit.
        const std::int64_t first = p.source().first_event_mono_ns();
        const double secs = first ? double(caught_up_at - first) / 1e9 : 0.0;
        const std::uint64_t n = m.source.consumed.get();
        std::printf("caught up: %llu events in %.3f s (%.0f events/s)\n", static_cast<unsigned long long>(n), secs,
                    secs > 0 ? double(n) / secs : 0.0);
    }
    if (unconfirmed) return unconfirmed;
    return p.source_failed() ? 1 : 0;
}

}  // namespace sluice
