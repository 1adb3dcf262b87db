// The whole pipeline in process, fed by the replay source: decode, fan-out,
// all three sinks, acks and the commit watermark, with no broker in the way;
// beside the bare simdjson parse of the same lines, measured in the same
// iteration (the ceiling).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "bare_parse.hpp"
#include "base/clock.hpp"
#include "corpus.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

namespace {

struct replay_corpus {
    std::string path;
    std::vector<std::string> padded;
    std::int64_t lines = 0, bytes = 0;
};

// 400 000 seed events of both envelope styles as a replay file (~150 MB),
// written once per process.
const replay_corpus& corpus_file() {
    static const replay_corpus c = [] {
        // Removed at exit by a handler that keeps its own copy of the path:
        // this static is destroyed before a handler registered while it is
        // built runs (reading its path then left every file behind).
        static char path[64];
        std::snprintf(path, sizeof path, "/tmp/sluice-bench-replay-%d.ndjson", static_cast<int>(getpid()));
        std::atexit([] { std::remove(path); });
        replay_corpus r;
        const auto events = sluice::bench::corpus(400000);
        r.path = path;
        std::ofstream out(r.path, std::ios::binary);
        for (const auto& e : events) {
            out << e << '\n';
            r.bytes += static_cast<std::int64_t>(e.size());
        }
        r.lines = static_cast<std::int64_t>(events.size());
        r.padded = sluice::bench::padded(events);
        return r;
    }();
    return c;
}

// Arg 0: outputs `none` (the sinks' rules run, no records are built);
// arg 1: every sink renders its records and appends them to /dev/null
// through io_uring. The sinks run on threads of their own: the default
// placement, "auto", depends on the machine's CPU count, and a baseline must
// measure the same pipeline on every machine.
void BM_pipeline_replay(benchmark::State& state) {
    const replay_corpus& c = corpus_file();
    const std::string output = state.range(0) ? "\"file:/dev/null\"" : "none";
    const sluice::settings cfg = sluice::load_settings(
        "", {"source=\"replay:" + c.path + "\"", "stats.socket=\"\"", "pipeline.sinks=\"threads\"",
             "sinks.enrichment.output=" + output, "sinks.notification.output=" + output,
             "sinks.analytics.output=" + output});
    simdjson::ondemand::parser parser;
    double pipeline_s = 0, bare_s = 0;
    sluice::histogram::snapshot_t latency;
    for (auto _ : state) {
        std::int64_t t0 = sluice::mono_ns();
        benchmark::DoNotOptimize(sluice::bench::bare_parse(parser, c.padded));
        bare_s += double(sluice::mono_ns() - t0) / 1e9;

        sluice::pipeline p(cfg, sluice::make_seed_sink, sluice::seed_schema());  // set-up: not timed
        p.start();
        const sluice::partition_view& v = p.metrics().partitions[0];
        // Done: every line acknowledged by every sink it went to and counted
        // by the commit thread's watermark.
        while (v.done() < static_cast<std::uint64_t>(c.lines))
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        const double s = double(sluice::mono_ns() - p.source().first_event_mono_ns()) / 1e9;
        state.SetIterationTime(s);
        pipeline_s += s;
        p.stop();
        for (auto& r : p.metrics().releases) latency.merge(r.in_pipeline.snapshot());
        if (p.metrics().source.decoded.get() != static_cast<std::uint64_t>(c.lines))
            state.SkipWithError("not every line decoded");
    }
    state.SetItemsProcessed(state.iterations() * c.lines);
    state.SetBytesProcessed(state.iterations() * c.bytes);
    state.counters["bare_events_per_s"] = double(state.iterations()) * double(c.lines) / bare_s;
    state.counters["of_bare"] = bare_s / pipeline_s;  // same lines: the ratio of the rates
    state.counters["in_pipeline_p50_us"] = double(latency.percentile(50)) / 1e3;
    state.counters["in_pipeline_p99_us"] = double(latency.percentile(99)) / 1e3;
}
BENCHMARK(BM_pipeline_replay)->Arg(0)->Arg(1)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
