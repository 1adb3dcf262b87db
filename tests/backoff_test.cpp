// Full-jitter backoff: the delays spread over the whole interval, never past its bound.
#include "base/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace sluice;

namespace {
constexpr std::int64_t ms = 1'000'000;
}

TEST(Backoff, CapDoublesUpToTheMaximum) {
    backoff b(50 * ms, 5000 * ms, 1);
    EXPECT_EQ(b.cap_ns(1), 50 * ms);
    EXPECT_EQ(b.cap_ns(2), 100 * ms);
    EXPECT_EQ(b.cap_ns(3), 200 * ms);
    EXPECT_EQ(b.cap_ns(7), 3200 * ms);
    EXPECT_EQ(b.cap_ns(8), 5000 * ms);
    EXPECT_EQ(b.cap_ns(100), 5000 * ms);
}

// 200 000 delays of one attempt, in 20 equal buckets over [0, cap]: each
// bucket holds 5% of them within a tolerance far above sampling noise
// (about 0.1 percentage points), far below what a fixed or clustered delay gives.
TEST(Backoff, DelaysAreUniformOverTheInterval) {
    for (std::uint32_t attempt : {1u, 3u, 9u}) {
        backoff b(50 * ms, 5000 * ms, 42 + attempt);
        const std::int64_t cap = b.cap_ns(attempt);
        constexpr int n = 200000, buckets = 20;
        std::vector<int> count(buckets, 0);
        double sum = 0;
        std::int64_t lo = cap, hi = 0;
        for (int i = 0; i < n; ++i) {
            const std::int64_t d = b.delay_ns(attempt);
            ASSERT_GE(d, 0);
            ASSERT_LE(d, cap);
            lo = std::min(lo, d);
            hi = std::max(hi, d);
            sum += double(d);
            ++count[std::min<int>(buckets - 1, int(double(d) / double(cap) * buckets))];
        }
        for (int k = 0; k < buckets; ++k)
            EXPECT_NEAR(double(count[k]) / n, 1.0 / buckets, 0.005) << "attempt " << attempt << " bucket " << k;
        EXPECT_NEAR(sum / n / double(cap), 0.5, 0.01) << "mean of attempt " << attempt;
        EXPECT_LT(lo, cap / 1000) << "reaches the bottom of the interval";
        EXPECT_GT(hi, cap - cap / 1000) << "reaches the top of the interval";
    }
}

// Retries after an outage: many records failing at once get distinct delays.
TEST(Backoff, SimultaneousRetriesSpreadOut) {
    backoff b(100 * ms, 100 * ms, 7);
    std::vector<std::int64_t> delays;
    for (int i = 0; i < 1000; ++i) delays.push_back(b.delay_ns(1));
    std::sort(delays.begin(), delays.end());
    EXPECT_EQ(std::unique(delays.begin(), delays.end()), delays.end()) << "no two retries fire at the same ns";
}

TEST(Backoff, SeededPerProcessAndInstance) {
    backoff a(50 * ms, 5000 * ms), b(50 * ms, 5000 * ms);
    std::vector<std::int64_t> da, db;
    for (int i = 0; i < 16; ++i) {
        da.push_back(a.delay_ns(5));
        db.push_back(b.delay_ns(5));
    }
    EXPECT_NE(da, db) << "two instances draw different delays";
    EXPECT_EQ(process_jitter_seed(), process_jitter_seed()) << "one seed per process";
    backoff c(50 * ms, 5000 * ms, 99), d(50 * ms, 5000 * ms, 99);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(c.delay_ns(4), d.delay_ns(4)) << "a fixed seed reproduces";
}
