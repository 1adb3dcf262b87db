// Log-linear latency histogram (about 3 significant digits, 1 ns to 1 min).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

// Design: exactly one writer thread calls record(); any thread may call
// snapshot() at any time without stopping the writer. Counts are relaxed
// atomics written with plain load+store (no lock prefix: one writer), so a
// snapshot can be a few records behind but never torn per bucket.
class histogram {
public:
    static constexpr int sub_bucket_bits = 11;  // 2048 sub-buckets: < 0.1% error
    static constexpr std::uint64_t sub_bucket_count = 1ull << sub_bucket_bits;
    static constexpr std::uint64_t sub_bucket_half = sub_bucket_count / 2;
    static constexpr std::uint64_t highest_trackable = 60'000'000'000ull;  // 1 min in ns

    static std::size_t index_of(std::uint64_t value) noexcept {
        const int msb = 63 - __builtin_clzll(value | 1);
        const int bucket = msb < sub_bucket_bits ? 0 : msb - (sub_bucket_bits - 1);
        return static_cast<std::size_t>(bucket) * sub_bucket_half + (value >> bucket);
    }
    static std::uint64_t lowest_of(std::size_t index) noexcept {
        const std::size_t bucket = index < sub_bucket_count ? 0 : index / sub_bucket_half - 1;
        return static_cast<std::uint64_t>(index - bucket * sub_bucket_half) << bucket;
    }
    static std::uint64_t highest_of(std::size_t index) noexcept {
        const std::size_t bucket = index < sub_bucket_count ? 0 : index / sub_bucket_half - 1;
        return lowest_of(index) + (1ull << bucket) - 1;
    }
    static constexpr std::size_t bucket_slots = 27389;  // index_of(highest_trackable) + 1

    histogram();

    // Writer only. Returns false (and records at the top of the range) when the
    // value is above one minute.
    bool record(std::uint64_t value_ns) noexcept {
        bool in_range = true;
        if (value_ns > highest_trackable) {
            value_ns = highest_trackable;
            in_range = false;
            bump(out_of_range_);
        }
        bump(counts_[index_of(value_ns)]);
        bump(total_);
        sum_.store(sum_.load(std::memory_order_relaxed) + value_ns, std::memory_order_relaxed);
        if (value_ns > max_.load(std::memory_order_relaxed))
            max_.store(value_ns, std::memory_order_relaxed);
        return in_range;
    }

    struct snapshot_t {
        std::vector<std::uint64_t> counts;  // bucket_slots entries
        std::uint64_t total = 0, sum = 0, max = 0, out_of_range = 0;
        // Highest value equivalent to the bucket holding the given percentile
        // (0..100); 0 when empty.
        std::uint64_t percentile(double p) const noexcept;
        double mean() const noexcept { return total ? double(sum) / double(total) : 0.0; }
        // What was recorded between `earlier` and this snapshot (for interval
        // percentiles); max is the top of the highest non-empty bucket.
        snapshot_t since(const snapshot_t& earlier) const;
        // Adds other's counts into this one (merging per-thread histograms).
        void merge(const snapshot_t& other);
    };
    snapshot_t snapshot() const;

private:
    static void bump(std::atomic<std::uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<std::uint64_t> total_{0}, sum_{0}, max_{0}, out_of_range_{0};
};

}  // namespace sluice
