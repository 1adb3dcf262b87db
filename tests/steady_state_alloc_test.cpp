// The pipeline's own threads allocate nothing per event in steady state.
//
// operator new/delete are replaced in this test binary to count allocations
// made on the role threads (source, sinks, commit). librdkafka allocates with
// malloc inside its own calls (fetching, producing); that is not counted: this
// test is about sluice's code on the hot path.
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/clock.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "seed_events.hpp"
#include "sink_factory.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> role_allocations{0};

bool on_role_thread() {
    // Cached per thread: 0 unknown, 1 role, 2 other.
    thread_local int kind = 0;
    if (kind == 0) {
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        const bool role = std::strcmp(name, "source") == 0 || std::strncmp(name, "sink-", 5) == 0 ||
                          std::strcmp(name, "commit") == 0;
        // Names are set when the thread starts; before that, ask again later.
        if (name[0] == '\0') return false;
        kind = role ? 1 : 2;
    }
    return kind == 1;
}

void* counted_alloc(std::size_t n) {
    if (counting.load(std::memory_order_relaxed) && on_role_thread())
        role_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace sluice;
using namespace sluice::testing;

namespace {

// Seed events without user.created (a new user grows the directory: that is
// growth, not steady state) and without outputs that batch into growing
// buffers beyond what warm-up reached.
std::vector<record> events(std::size_t n, std::uint64_t seed) {
    seed_generator gen(seed);
    seed_event ev;
    std::vector<record> out;
    while (out.size() < n) {
        gen.next(ev, wall_ns());
        if (ev.type == "user.created") continue;
        // Trace headers on every event: carrying them costs no allocation either.
        out.push_back({std::string(ev.topic), -1, 0, ev.key, ev.value, false,
                       {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                        {"correlation-id", "c-" + ev.key}}});
    }
    return out;
}

}  // namespace

TEST(SteadyState, RoleThreadsDoNotAllocatePerEvent) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    const settings cfg = test_settings({
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"alloc\"",
        "stats.socket=\"" + dir + "/s.sock\"",
        "sinks.enrichment.output=\"none\"", "sinks.notification.output=\"none\"", "sinks.analytics.output=\"none\"",
        "sinks.analytics.window.ms=86400000", "commit.interval.ms=50",
        // The warm-up passes over every in-flight entry, so an entry growing
        // for a larger event the first time it meets one is warm-up too.
        "pipeline.unconfirmed.max.events=4096"});
    pipeline p(cfg, make_seed_sink, seed_schema());
    // Inline, the sinks' work is counted on the source thread.
    if (!sink_placement_under_test().empty()) {
        EXPECT_EQ(p.metrics().sinks_inline, sink_placement_under_test() == "inline");
    }
    counting = true;  // warm-up allocations prove the counter sees the role threads
    p.start();
    // Warm-up: every partition seen once, buffers grown to their working size.
    produce(b, events(5000, 1));
    ASSERT_TRUE(wait_until([&] { return p.metrics().source.consumed.get() == 5000; }, std::chrono::seconds(60)));
    // Commits of the warm-up settle, and a live snapshot of the open window
    // is published (once a second): its buffers reach their working size.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const std::uint64_t warm_up = role_allocations.exchange(0);
    EXPECT_GT(warm_up, 0u) << "first sight of each partition allocates on the source thread";

    produce(b, events(20000, 2));
    ASSERT_TRUE(wait_until([&] { return p.metrics().source.consumed.get() == 25000; }, std::chrono::seconds(60)));
    ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[2].processed.get() == 25000; }, std::chrono::seconds(30)));
    // Polls and timers are steady state too: the analytics sink's live
    // snapshot (once a second), the commit thread's idle rounds.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    counting = false;
    p.stop();
    // A handful of allocations is growth (a vector reaching a new high-water
    // mark); one per event or per batch would be thousands.
    std::printf("steady-state allocations on role threads: %llu for 20000 events\n", static_cast<unsigned long long>(role_allocations.load()));
    EXPECT_LT(role_allocations.load(), 20u) << "role threads allocated " << role_allocations.load()
                                            << " times for 20000 events";
}
