// The caught-up test, partition totals and the progress line of `sluice run`.
#include "run_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "human_units.hpp"

namespace sluice {

namespace {

histogram::snapshot_t end_to_end(pipeline_metrics& m) {
    histogram::snapshot_t s;  // recorded per releasing thread: merge them
    for (auto& r : m.releases) s.merge(r.end_to_end.snapshot());
    return s;
}

}  // namespace

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

partition_totals sum_partitions(pipeline_metrics& m, bool stopped) {
    partition_totals t;
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

progress_line::progress_line(pipeline_metrics& m, bool shown, std::int64_t start_ns)
    : m_(m),
      shown_(shown),
      tty_(isatty(STDOUT_FILENO)),
      every_s_(tty_ ? 1 : 5),
      start_ns_(start_ns),
      last_ns_(start_ns),
      last_e2e_(end_to_end(m)),
      last_decode_(m.source.decode.snapshot()) {}

const char* progress_line::next(std::int64_t now) {
    const std::uint64_t consumed = m_.source.consumed.get();
    const double rate = double(consumed - last_consumed_) / (double(now - last_ns_) / 1e9);
    last_ns_ = now;
    last_consumed_ = consumed;
    const partition_totals t = sum_partitions(m_);
    const auto e2e = end_to_end(m_), decode = m_.source.decode.snapshot();
    const auto e2e_now = e2e.since(last_e2e_), decode_now = decode.since(last_decode_);
    last_e2e_ = e2e;
    last_decode_ = decode;
    std::snprintf(line_, sizeof line_, "[%4.0fs] consumed %llu (%.0f/s) dead-lettered %llu | decode p99 %s | e2e p99 %s | commit p99 %s | lag %llu | exposure %llu",
                  double(now - start_ns_) / 1e9, static_cast<unsigned long long>(consumed), rate,
                  static_cast<unsigned long long>(m_.source.dead_lettered.get()),
                  human_ns(decode_now.percentile(99)).c_str(), human_ns(e2e_now.percentile(99)).c_str(),
                  human_ns(m_.commit.round_trip.snapshot().percentile(99)).c_str(),
                  static_cast<unsigned long long>(t.lag), static_cast<unsigned long long>(t.exposure));
    return line_;
}

void progress_line::print(const char* line) const {
    if (!shown_) return;
    std::printf("%s%s%s", tty_ ? "\r" : "", line, tty_ ? "   " : "\n");
    std::fflush(stdout);
}

void progress_line::finish() const {
    if (tty_ && shown_) std::printf("\n");
}

}  // namespace sluice
