// Renders the stats protocol answers: stats (JSON), metrics (Prometheus), hist NAME, help.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/flow.hpp"
#include "sink/sink.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// What one connection saw at its previous `interval` request (the stats
// thread's, per connection).
struct interval_state {
    std::int64_t previous_wall_ns = 0;  // 0: none yet (the first interval starts at the pipeline's start)
    std::map<std::string, histogram::snapshot_t, std::less<>> previous;
};

// Design: called only on the stats thread. Reads counters and histograms
// without stopping their writers, and each sink's live_json() snapshot.
class stats_report {
public:
    stats_report(pipeline_metrics& m, const flow* f, std::vector<const sink*> sinks)
        : m_(m), flow_(f), sinks_(std::move(sinks)) {}

    // One request line -> the answer (without the protocol's terminating blank line).
    std::string answer(std::string_view line) const;

    // Liveness and readiness: ok decides HTTP 200 or 503; text says why.
    struct probe {
        bool ok;
        std::string text;
    };
    probe health() const;  // the process runs its loops (no role thread stalled)
    probe ready() const;   // the group had its first rebalance and the directory is synced; not while stopping

    std::string stats_json() const;
    std::string prometheus() const;
    std::string hist(std::string_view name) const;
    // {"stages":{"NAME":[index,count,...]}}: each histogram's non-empty
    // buckets, cumulative since the start (the live page takes differences
    // for windowed percentiles).
    std::string buckets_json() const;
    // One line per histogram: NAME START_S END_S MAX_NS HDR (wall-clock
    // seconds; HDR = what was recorded since the connection's previous
    // request, HdrHistogram V2 compressed base64), then state moves on.
    std::string interval(interval_state& state) const;
    static std::string help();
    std::vector<std::string> histogram_names() const;

private:
    const histogram* find(std::string_view name, std::vector<const histogram*>& merged) const;

    pipeline_metrics& m_;
    const flow* flow_;
    std::vector<const sink*> sinks_;
};

}  // namespace sluice
