// The start and stop lines of `sluice run`, on stdout or as log lines.
#include "run_messages.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/log.hpp"
#include "run_progress.hpp"

namespace sluice {

namespace {

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

void say_start(bool json_logs, const settings& cfg, const pipeline& p) {
    std::string topics;
    for (const auto& t : cfg.topics) topics += (topics.empty() ? "" : ",") + t;
    if (!cfg.replay_file.empty())
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
}

void say_stopped(bool json_logs, const settings& cfg, pipeline& p, const run_end& end) {
    pipeline_metrics& m = p.metrics();
    const partition_totals t = sum_partitions(m, true);
    say(json_logs, "sluice: stopped: consumed %llu, decoded %llu, dead-lettered %llu, committed %llu commits; replay exposure %llu\n",
                static_cast<unsigned long long>(m.source.consumed.get()),
                static_cast<unsigned long long>(m.source.decoded.get()),
                static_cast<unsigned long long>(m.source.dead_lettered.get()),
                static_cast<unsigned long long>(m.commit.commits.get()), static_cast<unsigned long long>(t.exposure));
    // The final commit did not cover everything done: those events will be
    // processed again by whoever reads the partitions next.
    // One line per partition on stdout (the logger would rate-limit them).
    for (const std::string& line : p.unconfirmed())
        say(json_logs, "sluice: final commit not confirmed: %s\n", line.c_str());
    if (!cfg.replay_file.empty()) {
        const partition_view& v = m.partitions[0];
        say(json_logs, "sluice: replay of %s: every line before line %lld is done (%llu lines read)\n",
                    cfg.replay_file.c_str(), static_cast<long long>(std::max<std::int64_t>(v.committed_offset.load(), 1)),
                    static_cast<unsigned long long>(m.source.consumed.get()));
    }
    if (!end.until_caught_up) return;
    if (!end.reached_end) {
        say(json_logs, "not caught up: %s\n", p.source_failed() ? "the source failed" : "stopped by signal or duration");
        return;
    }
    // From the first event consumed (the group join is not counted) to the final commit.
    const std::int64_t first = p.source().first_event_mono_ns();
    const double secs = first ? double(end.caught_up_ns - first) / 1e9 : 0.0;
    const std::uint64_t n = m.source.consumed.get();
    say(json_logs, "caught up: %llu events in %.3f s (%.0f events/s)\n", static_cast<unsigned long long>(n), secs,
                secs > 0 ? double(n) / secs : 0.0);
}

}  // namespace sluice
