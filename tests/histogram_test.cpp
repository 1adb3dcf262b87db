// histogram: bucket geometry and percentiles against known distributions.
#include "stats/histogram.hpp"

#include <gtest/gtest.h>

#include <random>

using sluice::histogram;

TEST(Histogram, SlotCountCoversOneMinute) {
    EXPECT_EQ(histogram::index_of(histogram::highest_trackable) + 1, histogram::bucket_slots);
}

TEST(Histogram, BucketsAreContiguousAndWithinOneThousandth) {
    for (std::uint64_t v : {0ull, 1ull, 2047ull, 2048ull, 2049ull, 4095ull, 4096ull, 1234567ull,
                            999999999ull, 59999999999ull}) {
        const auto i = histogram::index_of(v);
        EXPECT_LE(histogram::lowest_of(i), v);
        EXPECT_GE(histogram::highest_of(i), v);
        EXPECT_LE(double(histogram::highest_of(i) - histogram::lowest_of(i)), double(v) / 1000.0 + 1);
    }
    for (std::size_t i = 1; i < histogram::bucket_slots; ++i)
        ASSERT_EQ(histogram::lowest_of(i), histogram::highest_of(i - 1) + 1) << i;
}

TEST(Histogram, UniformDistributionPercentiles) {
    histogram h;
    for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
    auto s = h.snapshot();
    EXPECT_EQ(s.total, 100000u);
    EXPECT_EQ(s.max, 100000000u);
    EXPECT_NEAR(double(s.percentile(50)), 50e6, 50e6 * 0.001);
    EXPECT_NEAR(double(s.percentile(99)), 99e6, 99e6 * 0.001);
    EXPECT_NEAR(double(s.percentile(99.9)), 99.9e6, 99.9e6 * 0.001);
    EXPECT_EQ(s.percentile(100), 100000000u);
    EXPECT_NEAR(s.mean(), 50.0005e6, 1.0);
}

TEST(Histogram, ExponentialDistributionPercentiles) {
    histogram h;
    std::mt19937_64 rng(42);
    std::exponential_distribution<double> d(1.0 / 20000.0);  // mean 20 us
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 200000; ++i) {
        auto v = static_cast<std::uint64_t>(d(rng)) + 1;
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    auto s = h.snapshot();
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        const double exact = double(values[static_cast<std::size_t>(std::ceil(p / 100 * values.size())) - 1]);
        EXPECT_NEAR(double(s.percentile(p)), exact, exact * 0.001 + 1) << p;
    }
}

TEST(Histogram, ValuesAboveOneMinuteAreFlagged) {
    histogram h;
    EXPECT_TRUE(h.record(5));
    EXPECT_FALSE(h.record(120'000'000'000ull));
    auto s = h.snapshot();
    EXPECT_EQ(s.total, 2u);
    EXPECT_EQ(s.out_of_range, 1u);
    EXPECT_EQ(s.max, histogram::highest_trackable);
}

TEST(Histogram, EmptySnapshotIsZero) {
    histogram h;
    auto s = h.snapshot();
    EXPECT_EQ(s.percentile(99), 0u);
    EXPECT_EQ(s.total, 0u);
}
