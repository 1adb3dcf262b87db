// Per-event costs of the engine's pieces: histogram, watermark, routing, JSON records, key hash, dedup.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "base/key_hash.hpp"
#include "commit/commit_tracker.hpp"
#include "dedup_window.hpp"
#include "pipeline/routing.hpp"
#include "seed_config.hpp"
#include "stats/histogram.hpp"
#include "window_aggregate.hpp"

namespace {

void BM_histogram_record(benchmark::State& state) {
    sluice::histogram h;
    std::uint64_t v = 1000;
    for (auto _ : state) {
        h.record(v);
        v = (v * 6364136223846793005ull + 1442695040888963407ull) >> 44;  // spread over buckets
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_histogram_record);

// An ack in dispatch order, and acks arriving out of order within a window of 64.
void BM_watermark_in_order(benchmark::State& state) {
    sluice::partition_watermark w(4096);
    std::uint64_t seq = 0;
    for (auto _ : state) {
        w.dispatched(seq, std::int64_t(seq));
        w.done(seq++);
    }
    benchmark::DoNotOptimize(w.commit_offset());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_watermark_in_order);

void BM_watermark_out_of_order(benchmark::State& state) {
    sluice::partition_watermark w(4096);
    std::vector<std::uint64_t> order(64);
    for (std::size_t i = 0; i < 64; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(1));
    std::uint64_t base = 0;
    for (auto _ : state) {
        for (std::uint64_t i = 0; i < 64; ++i) w.dispatched(base + i, std::int64_t(base + i));
        for (std::uint64_t i : order) w.done(base + i);
        base += 64;
    }
    benchmark::DoNotOptimize(w.commit_offset());
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_watermark_out_of_order);

void BM_routing(benchmark::State& state) {
    sluice::type_registry types;
    sluice::routing_table t({"enrichment", "notification", "analytics"}, sluice::seed_routes(), types);
    sluice::type_id id = 0;
    unsigned sum = 0;
    for (auto _ : state) {
        sum += t.route(id);
        id = static_cast<sluice::type_id>((id + 7) % types.count());
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_routing);

// A notification-sized record, as the sinks render one per event.
void BM_json_record(benchmark::State& state) {
    std::string out;
    out.reserve(1024);
    for (auto _ : state) {
        out.clear();
        sluice::json_writer w(out);
        w.begin_object()
            .field("notification_id", std::string_view("task.updated:1042:17:1735689600000000000:23"))
            .field("kind", std::string_view("task.updated"))
            .field("event_id", std::string_view("task.updated:1042:17:1735689600000000000"))
            .field("recipient_id", std::string_view("1000023"))
            .field("email", std::string_view("user1000023@example.com"))
            .field("username", std::string_view("user1000023"))
            .field("entity_id", std::string_view("1042"))
            .field("title", std::string_view("Task 1042"))
            .field("timestamp", std::string_view("2025-01-01T00:00:00.000Z"))
            .end_object();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_json_record);

// Ids of the given length (a user id: 8, an event_id UUID: 36), 1024 of them.
void BM_key_hash(benchmark::State& state) {
    std::vector<std::string> ids;
    for (int i = 0; i < 1024; ++i) {
        std::string id = std::to_string(i * 7919);
        id.resize(static_cast<std::size_t>(state.range(0)), 'x');
        ids.push_back(std::move(id));
    }
    std::size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(sluice::key_hash(ids[i++ & 1023]));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_key_hash)->Arg(8)->Arg(36);

void BM_dedup_window(benchmark::State& state) {
    sluice::dedup_window d(65536);
    std::uint64_t h = 1;
    std::size_t dup = 0;
    for (auto _ : state) {
        dup += d.seen_or_insert(h);
        h = h * 6364136223846793005ull + 1442695040888963407ull;
    }
    benchmark::DoNotOptimize(dup);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dedup_window);

void BM_window_aggregate_add(benchmark::State& state) {
    sluice::window_aggregate w;
    w.reset(0, 10'000'000'000);
    const std::string ids[4] = {"article-1", "article-2", "article-77", "article-300"};
    std::uint64_t i = 0;
    for (auto _ : state) {
        ++w.events;
        ++w.counts[i & 15];
        w.top_articles.add(ids[i & 3]);
        w.users.add(1000000 + (i * 7919) % 5000);
        ++i;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_window_aggregate_add);

}  // namespace

BENCHMARK_MAIN();
