// SPSC ring vs moodycamel ReaderWriterQueue between two threads: throughput and one-way latency.
#include <benchmark/benchmark.h>
#include <readerwriterqueue/readerwriterqueue.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "clock.hpp"
#include "spsc_ring.hpp"

namespace {

constexpr std::uint64_t items = 1 << 20;

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

// Single items: producer try_push, consumer front/pop.
void BM_ring_single(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        sluice::spsc_ring<std::uint64_t> ring(4096);
        std::thread producer([&] {
            cores.other();
            for (std::uint64_t i = 0; i < items;)
                if (ring.try_push(i)) ++i;
        });
        std::uint64_t sum = 0;
        for (std::uint64_t got = 0; got < items;) {
            if (auto* p = ring.front()) {
                sum += *p;
                ring.pop();
                ++got;
            }
        }
        producer.join();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_ring_single)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_rwqueue_single(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        moodycamel::ReaderWriterQueue<std::uint64_t> q(4096);
        std::thread producer([&] {
            cores.other();
            for (std::uint64_t i = 0; i < items;)
                if (q.try_enqueue(i)) ++i;
        });
        std::uint64_t sum = 0;
        for (std::uint64_t got = 0; got < items;) {
            std::uint64_t v;
            if (q.try_dequeue(v)) {
                sum += v;
                ++got;
            }
        }
        producer.join();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_rwqueue_single)->UseRealTime()->Unit(benchmark::kMillisecond);

// Batches of 64 on both sides.
void BM_ring_batch64(benchmark::State& state) {
    const on_two_cores cores;
    for (auto _ : state) {
        sluice::spsc_ring<std::uint64_t> ring(4096);
        std::thread producer([&] {
            cores.other();
            std::uint64_t buf[64];
            for (std::uint64_t i = 0; i < items;) {
                const std::size_t n = std::min<std::uint64_t>(64, items - i);
                for (std::size_t k = 0; k < n; ++k) buf[k] = i + k;
                std::size_t done = 0;
                while (done < n) done += ring.try_push_batch(buf + done, n - done);
                i += n;
            }
        });
        std::uint64_t sum = 0, buf[64];
        for (std::uint64_t got = 0; got < items;) {
            const std::size_t n = ring.pop_batch(buf, 64);
            for (std::size_t k = 0; k < n; ++k) sum += buf[k];
            got += n;
        }
        producer.join();
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
}
BENCHMARK(BM_ring_batch64)->UseRealTime()->Unit(benchmark::kMillisecond);

// One-way latency: ping-pong over two rings, half the round trip.
template <typename Push, typename Pop>
void ping_pong(benchmark::State& state, Push push, Pop pop) {
    constexpr int rounds = 20000;
    double total_ns = 0;
    const on_two_cores cores;
    for (auto _ : state) {
        std::thread echo([&] {
            cores.other();
            for (int i = 0; i < rounds; ++i) {
                std::uint64_t v;
                while (!pop(1, v)) {
                }
                while (!push(0, v)) {
                }
            }
        });
        const std::int64_t t0 = sluice::mono_ns();
        for (int i = 0; i < rounds; ++i) {
            while (!push(1, std::uint64_t(i))) {
            }
            std::uint64_t v;
            while (!pop(0, v)) {
            }
        }
        const std::int64_t t1 = sluice::mono_ns();
        echo.join();
        state.SetIterationTime(double(t1 - t0) / 1e9);
        total_ns += double(t1 - t0);
    }
    state.counters["one_way_ns"] = total_ns / double(state.iterations()) / rounds / 2;
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
