// waiter: parking never loses a wake-up; parsing of the strategy names.
#include "ring/wait_strategy.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "ring/spsc_ring.hpp"

using namespace sluice;

// The consumer parks for up to a minute per idle round; the producer notifies
// after every push. A lost wake-up would stall the consumer for a minute at
// a time and the test would run into its timeout instead of passing.
TEST(Waiter, ParkedConsumerSeesEveryItem) {
    for (wait_kind kind : {wait_kind::park, wait_kind::spin_then_park}) {
        spsc_ring<std::uint64_t> ring(16);
        waiter w(kind, 50, std::chrono::seconds(60));
        constexpr std::uint64_t n = 20000;
        std::thread producer([&] {
            for (std::uint64_t i = 0; i < n; ++i) {
                while (!ring.try_push(i)) std::this_thread::yield();
                w.notify();
                if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
        std::uint64_t got = 0, sum = 0;
        while (got < n) {
            if (auto* p = ring.front()) {
                sum += *p;
                ring.pop();
                ++got;
                w.reset();
            } else {
                w.idle([&] { return !ring.empty_approx(); });
            }
        }
        producer.join();
        EXPECT_EQ(sum, n * (n - 1) / 2);
    }
}

TEST(Waiter, WakeReleasesAParkedThread) {
    waiter w(wait_kind::park, 0, std::chrono::seconds(60));
    std::atomic<bool> woke{false};
    std::thread t([&] {
        w.idle([] { return false; });
        woke = true;
    });
    while (!woke) {
        w.wake();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    t.join();
    EXPECT_TRUE(woke);
}

TEST(Waiter, ParsesStrategyNames) {
    EXPECT_EQ(parse_wait_kind("spin"), wait_kind::spin);
    EXPECT_EQ(parse_wait_kind("spin-then-park"), wait_kind::spin_then_park);
    EXPECT_EQ(parse_wait_kind("park"), wait_kind::park);
    EXPECT_THROW(parse_wait_kind("sleep"), std::invalid_argument);
    EXPECT_EQ(to_string(wait_kind::spin_then_park), "spin-then-park");
}
