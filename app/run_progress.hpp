// How far `sluice run` has got: the caught-up test, lag and exposure over the partitions, the live progress line.
#pragma once

#include <cstdint>

#include "pipeline/pipeline.hpp"
#include "stats/histogram.hpp"

namespace sluice {

// Every assigned partition processed (committed, when `committed`) up to the
// end it had when assigned.
bool caught_up(pipeline_metrics& m, bool committed);

struct partition_totals {
    std::uint64_t lag = 0, exposure = 0;
};
// Over the assigned partitions; after the stop (when none is assigned), over
// every partition's last state (its exposure after the final commit).
partition_totals sum_partitions(pipeline_metrics& m, bool stopped = false);

// Design: control thread only. One line a second on a terminal (redrawn in
// place), one every five seconds otherwise; its percentiles cover the time
// since the previous line, not since start.
class progress_line {
public:
    // shown: printed on stdout (run.progress); the text also serves as the service status.
    progress_line(pipeline_metrics& m, bool shown, std::int64_t start_ns);

    bool shown() const noexcept { return shown_; }
    bool due(std::int64_t now_ns) const noexcept { return double(now_ns - last_ns_) / 1e9 >= every_s_; }
    // The line for the interval since the previous one (or the start).
    const char* next(std::int64_t now_ns);
    void print(const char* line) const;
    // Ends the line redrawn in place, so what follows starts on a line of its own.
    void finish() const;

private:
    pipeline_metrics& m_;
    const bool shown_;
    const bool tty_;
    const int every_s_;
    const std::int64_t start_ns_;
    std::int64_t last_ns_;
    std::uint64_t last_consumed_ = 0;
    histogram::snapshot_t last_e2e_, last_decode_;
    char line_[512];
};

}  // namespace sluice
