// Snapshot and percentile logic of histogram.
#include "stats/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace sluice {

static_assert(histogram::bucket_slots == 27389);

histogram::histogram() : counts_(new std::atomic<std::uint64_t>[bucket_slots]) {
    for (std::size_t i = 0; i < bucket_slots; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

histogram::snapshot_t histogram::snapshot() const {
    snapshot_t s;
    s.counts.resize(bucket_slots);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < bucket_slots; ++i) {
        s.counts[i] = counts_[i].load(std::memory_order_relaxed);
        total += s.counts[i];
    }
    // The per-bucket sum is the consistent total for percentile ranks.
    s.total = total;
    s.sum = sum_.load(std::memory_order_relaxed);
    s.max = max_.load(std::memory_order_relaxed);
    s.out_of_range = out_of_range_.load(std::memory_order_relaxed);
    return s;
}

histogram::snapshot_t histogram::snapshot_t::since(const snapshot_t& earlier) const {
    snapshot_t d;
    d.counts.assign(counts.size(), 0);
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const std::uint64_t before = i < earlier.counts.size() ? earlier.counts[i] : 0;
        d.counts[i] = counts[i] >= before ? counts[i] - before : 0;
        d.total += d.counts[i];
        if (d.counts[i]) d.max = highest_of(i);
    }
    d.sum = sum >= earlier.sum ? sum - earlier.sum : 0;
    d.out_of_range = out_of_range - std::min(out_of_range, earlier.out_of_range);
    if (d.max > max) d.max = max;
    return d;
}

void histogram::snapshot_t::merge(const snapshot_t& other) {
    if (counts.size() < other.counts.size()) counts.resize(other.counts.size(), 0);
    for (std::size_t i = 0; i < other.counts.size(); ++i) counts[i] += other.counts[i];
    total += other.total;
    sum += other.sum;
    max = std::max(max, other.max);
    out_of_range += other.out_of_range;
}

std::uint64_t histogram::snapshot_t::percentile(double p) const noexcept {
    if (total == 0) return 0;
    if (p >= 100.0) return max;
    // One ulp below p first, as HdrHistogram does: 99.9 / 100 * 6000 is
    // 5994.000000000001 in doubles, and its ceiling would take one value too many.
    const double below = std::nextafter(p, 0.0);
    std::uint64_t rank = static_cast<std::uint64_t>(std::ceil(below / 100.0 * double(total)));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        seen += counts[i];
        if (seen >= rank) {
            const std::uint64_t v = highest_of(i);
            return v < max ? v : max;
        }
    }
    return max;
}

}  // namespace sluice
