// Renders the stats protocol answers: stats (JSON), metrics (Prometheus), hist NAME, help.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flow.hpp"
#include "metrics.hpp"
#include "sink.hpp"

namespace sluice {

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
    static std::string help();
    std::vector<std::string> histogram_names() const;

private:
    const histogram* find(std::string_view name, std::vector<const histogram*>& merged) const;

    pipeline_metrics& m_;
    const flow* flow_;
    std::vector<const sink*> sinks_;
};

}  // namespace sluice
