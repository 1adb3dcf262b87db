// spsc_ring: single-thread semantics and a two-thread ordering stress test.
#include "ring/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using sluice::spsc_ring;

TEST(SpscRing, RoundsCapacityUpToPowerOfTwo) {
    spsc_ring<int> r(5);
    EXPECT_EQ(r.capacity(), 8u);
}

TEST(SpscRing, FullRingRejectsPushAndEmptyRingHasNoFront) {
    spsc_ring<int> r(4);
    EXPECT_EQ(r.front(), nullptr);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.try_push(i));
    EXPECT_FALSE(r.try_push(99));
    ASSERT_NE(r.front(), nullptr);
    EXPECT_EQ(*r.front(), 0);
    r.pop();
    EXPECT_TRUE(r.try_push(4));
    std::vector<int> got(8);
    EXPECT_EQ(r.pop_batch(got.data(), 8), 4u);
    EXPECT_EQ((std::vector<int>(got.begin(), got.begin() + 4)), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(r.pop_batch(got.data(), 8), 0u);
}

TEST(SpscRing, PopBatchRespectsMax) {
    spsc_ring<int> r(16);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.try_push(i));
    int out[3];
    EXPECT_EQ(r.pop_batch(out, 3), 3u);
    EXPECT_EQ(out[2], 2);
    EXPECT_EQ(r.size_approx(), 7u);
}

TEST(SpscRing, PushBatchFillsWhatFits) {
    spsc_ring<int> r(4);
    const int items[6] = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(r.try_push_batch(items, 6), 4u);
    EXPECT_EQ(r.try_push_batch(items, 1), 0u);
    int out[4];
    EXPECT_EQ(r.pop_batch(out, 2), 2u);
    EXPECT_EQ(r.try_push_batch(items + 4, 2), 2u);
    EXPECT_EQ(r.pop_batch(out, 4), 4u);
    EXPECT_EQ(out[0], 3);
    EXPECT_EQ(out[3], 6);
}

// Two threads, small ring so it wraps and fills constantly: every item arrives
// exactly once and in order.
TEST(SpscRing, TwoThreadStressKeepsOrderAndCount) {
    constexpr std::uint64_t n = 2'000'000;
    spsc_ring<std::uint64_t> r(64);
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < n;) {
            if (r.try_push(i)) ++i;
            else std::this_thread::yield();
        }
    });
    std::uint64_t expected = 0, sum = 0;
    std::uint64_t buf[32];
    bool in_order = true;
    while (expected < n) {
        std::size_t got = 0;
        if (expected % 3 == 0) {
            if (auto* p = r.front()) {
                buf[0] = *p;
                r.pop();
                got = 1;
            }
        } else {
            got = r.pop_batch(buf, 32);
        }
        if (got == 0) std::this_thread::yield();
        for (std::size_t i = 0; i < got; ++i) {
            in_order &= buf[i] == expected;
            sum += buf[i];
            ++expected;
        }
    }
    producer.join();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(sum, n * (n - 1) / 2);
    EXPECT_EQ(r.front(), nullptr);
}
