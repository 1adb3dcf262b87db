// sink_placement: the cgroup v2 quota line, the usable CPUs under a real
// affinity mask, and what pipeline.sinks = "auto" comes to.
#include "sink/sink_placement.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <cerrno>
#include <thread>

using namespace sluice;

TEST(SinkPlacement, CpuMaxLineIsTheQuotaInWholeCpus) {
    EXPECT_EQ(cpu_max_cpus("max 100000"), std::nullopt) << "no quota";
    EXPECT_EQ(cpu_max_cpus("max 100000\n"), std::nullopt);
    EXPECT_EQ(cpu_max_cpus("150000 100000\n"), 1u) << "1.5 CPUs of time: not two cores' worth";
    EXPECT_EQ(cpu_max_cpus("450000 100000"), 4u) << "4.5 CPUs do not give 5 roles a core each";
    EXPECT_EQ(cpu_max_cpus("20000 100000"), 1u) << "at least one";
    EXPECT_EQ(cpu_max_cpus("100000 100000"), 1u);
    EXPECT_EQ(cpu_max_cpus("50000 100000"), 1u);
    EXPECT_EQ(cpu_max_cpus("400000 100000\n"), 4u);
    for (const char* garbage : {"", "\n", "max", "100000", "abc 100000", "100000 abc", "-5 100000", "100000 0",
                                "0 100000", "1e5 100000", "100000  100000"})
        EXPECT_EQ(cpu_max_cpus(garbage), std::nullopt) << "'" << garbage << "'";
}

TEST(SinkPlacement, AutoIsInlineWithFewerCpusThanRoles) {
    EXPECT_EQ(event_roles(3), 5u) << "source, commit and three sinks";
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, 2, 5), sink_placement::inline_);
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, 1, 5), sink_placement::inline_);
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, 4, 5), sink_placement::inline_);
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, 5, 5), sink_placement::threads) << "a core per role";
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, 8, 5), sink_placement::threads);
    for (std::size_t cpus : {1u, 5u, 64u}) {
        EXPECT_EQ(resolve_sink_placement(sink_placement::threads, cpus, 5), sink_placement::threads) << cpus;
        EXPECT_EQ(resolve_sink_placement(sink_placement::inline_, cpus, 5), sink_placement::inline_) << cpus;
    }
}

// usable_cpus() reads the calling thread's affinity: a thread pinned to one
// CPU sees one, whatever the machine and the cgroup allow.
TEST(SinkPlacement, UsableCpusFollowTheAffinityMask) {
    cpu_set_t all;
    CPU_ZERO(&all);
    ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    const std::size_t here = usable_cpus();
    EXPECT_GE(here, 1u);
    EXPECT_LE(here, static_cast<std::size_t>(CPU_COUNT(&all)));
    int first = 0;
    while (!CPU_ISSET(first, &all)) ++first;

    std::size_t pinned = 0;
    int pin_error = 0;
    std::thread t([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) pin_error = errno;
        pinned = usable_cpus();
    });
    t.join();
    ASSERT_EQ(pin_error, 0);
    EXPECT_EQ(pinned, 1u);
    EXPECT_EQ(resolve_sink_placement(sink_placement::automatic, pinned, event_roles(3)), sink_placement::inline_);
    EXPECT_EQ(usable_cpus(), here) << "this thread's own mask is unchanged";

    if (CPU_COUNT(&all) >= 2) {
        int second = first + 1;
        while (!CPU_ISSET(second, &all)) ++second;
        std::size_t two = 0;
        std::thread u([&] {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(first, &set);
            CPU_SET(second, &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) pin_error = errno;
            two = usable_cpus();
        });
        u.join();
        ASSERT_EQ(pin_error, 0);
        EXPECT_LE(two, 2u) << "two CPUs in the mask, fewer if the cgroup's quota is below";
        EXPECT_GE(two, 1u);
    }
}
