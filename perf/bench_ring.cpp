// SPSC ring vs moodycamel ReaderWriterQueue between two threads: throughput and one-way latency.
#include <benchmark/benchmark.h>
#include <readerwriterqueue/readerwriterqueue.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/clock.hpp"
#include "ring/spsc_ring.hpp"

namespace {

constexpr std::uint64_t items = 1 << 22;

// The two threads on two different cores: left to the scheduler on a 2-CPU
// machine they sometimes share one, and the figure then measures time
// slicing (several times faster, and bimodal from run to run).
class on_two_cores {
public:
    on_two_cores() {
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
        pinned_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
        if (pinned_) pin(0);
    }
    ~on_two_cores() {
        if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
    }
    // Called first thing by the other thread.
    void other() const {
        if (pinned_) pin(1);
    }

private:
    static void pin(int cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    cpu_set_t saved_{};
    bool pinned_ = false;
};

// Times one transfer: the other thread is started and pinned first, and the
// clock starts when both are ready. Starting a thread and moving it to the
// other vCPU takes up to two scheduler ticks (8 ms here), as long as a whole
// million-item transfer: timed with it, every figure above ~130 M items/s
// would read as 8.0 ms.
template <typename Other, typename Own>
double timed_pair(const on_two_cores& cores, Other other, Own own) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::thread t([&] {
        cores.other();
        ready.store(1, std::memory_order_release);
        while (!go.load(std::memory_order_acquire)) {
        }
        other();
    });
    while (ready.load(std::memory_order_acquire) == 0) {
    }
    const std::int64_t t0 = sluice::mono_ns();
    go.store(true, std::memory_order_release);
    own();
    const std::int64_t t1 = sluice::mono_ns();
    t.join();
    return double(t1 - t0) / 1e9;
}

// Single items: producer try_push, consumer front/pop.
void BM_ring_single(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        sluice::spsc_ring<std::uint64_t> ring(4096);
        std::uint64_t sum = 0;
        state.SetIterationTime(timed_pair(
            cores,
            [&] {
                for (std::uint64_t i = 0; i < items;)
                    if (ring.try_push(i)) ++i;
            },
            [&] {
                for (std::uint64_t got = 0; got < items;) {
                    if (auto* p = ring.front()) {
                        sum += *p;
                        ring.pop();
                        ++got;
                    }
                }
            }));
        if (sum != items * (items - 1) / 2) state.SkipWithError("items lost or duplicated");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_ring_single)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_rwqueue_single(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        moodycamel::ReaderWriterQueue<std::uint64_t> q(4096);
        std::uint64_t sum = 0;
        state.SetIterationTime(timed_pair(
            cores,
            [&] {
                for (std::uint64_t i = 0; i < items;)
                    if (q.try_enqueue(i)) ++i;
            },
            [&] {
                for (std::uint64_t got = 0; got < items;) {
                    std::uint64_t v;
                    if (q.try_dequeue(v)) {
                        sum += v;
                        ++got;
                    }
                }
            }));
        if (sum != items * (items - 1) / 2) state.SkipWithError("items lost or duplicated");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_rwqueue_single)->UseManualTime()->Unit(benchmark::kMillisecond);

// Batches of 64 on both sides.
void BM_ring_batch64(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        sluice::spsc_ring<std::uint64_t> ring(4096);
        std::uint64_t sum = 0;
        state.SetIterationTime(timed_pair(
            cores,
            [&] {
                std::uint64_t buf[64];
                for (std::uint64_t i = 0; i < items;) {
                    const std::size_t n = std::min<std::uint64_t>(64, items - i);
                    for (std::size_t k = 0; k < n; ++k) buf[k] = i + k;
                    std::size_t done = 0;
                    while (done < n) done += ring.try_push_batch(buf + done, n - done);
                    i += n;
                }
            },
            [&] {
                std::uint64_t buf[64];
                for (std::uint64_t got = 0; got < items;) {
                    const std::size_t n = ring.pop_batch(buf, 64);
                    for (std::size_t k = 0; k < n; ++k) sum += buf[k];
                    got += n;
                }
            }));
        if (sum != items * (items - 1) / 2) state.SkipWithError("items lost or duplicated");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_ring_batch64)->UseManualTime()->Unit(benchmark::kMillisecond);

// One-way latency: ping-pong over two rings, half the round trip.
template <typename Push, typename Pop>
void ping_pong(benchmark::State& state, Push push, Pop pop) {
    constexpr int rounds = 20000;
    double total_s = 0;
    const on_two_cores cores;
    for (auto _ : state) {
        const double s = timed_pair(
            cores,
            [&] {
                for (int i = 0; i < rounds; ++i) {
                    std::uint64_t v;
                    while (!pop(1, v)) {
                    }
                    while (!push(0, v)) {
                    }
                }
            },
            [&] {
                for (int i = 0; i < rounds; ++i) {
                    while (!push(1, std::uint64_t(i))) {
                    }
                    std::uint64_t v;
                    while (!pop(0, v)) {
                    }
                }
            });
        state.SetIterationTime(s);
        total_s += s;
    }
    state.counters["one_way_ns"] = total_s * 1e9 / double(state.iterations()) / rounds / 2;
}

void BM_ring_one_way_latency(benchmark::State& state) {
    sluice::spsc_ring<std::uint64_t> a(64), b(64);
    sluice::spsc_ring<std::uint64_t>* r[2] = {&a, &b};
    ping_pong(
        state, [&](int i, std::uint64_t v) { return r[i]->try_push(v); },
        [&](int i, std::uint64_t& v) {
            auto* p = r[i]->front();
            if (!p) return false;
            v = *p;
            r[i]->pop();
            return true;
        });
}
BENCHMARK(BM_ring_one_way_latency)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);

void BM_rwqueue_one_way_latency(benchmark::State& state) {
    moodycamel::ReaderWriterQueue<std::uint64_t> a(64), b(64);
    moodycamel::ReaderWriterQueue<std::uint64_t>* r[2] = {&a, &b};
    ping_pong(
        state, [&](int i, std::uint64_t v) { return r[i]->try_enqueue(v); },
        [&](int i, std::uint64_t& v) { return r[i]->try_dequeue(v); });
}
BENCHMARK(BM_rwqueue_one_way_latency)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
