// Decode: sluice's decoder against the bare simdjson on-demand walk of the same bytes.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include "bare_parse.hpp"
#include "corpus.hpp"
#include "decode/decoder.hpp"
#include "decode/event_schema.hpp"
#include "seed_schema.hpp"

namespace {

const std::vector<std::string>& events() {
    static const auto c = sluice::bench::corpus();
    return c;
}

std::int64_t corpus_bytes() {
    std::int64_t b = 0;
    for (const auto& e : events()) b += static_cast<std::int64_t>(e.size());
    return b;
}

// The whole decode step as the source does it: copy into the padded slot,
// decode both envelopes into the compact event, intern the type.
void BM_decode_sluice(benchmark::State& state) {
    sluice::type_registry types(sluice::seed_schema().known_types());
    sluice::decoder dec(sluice::seed_schema(), types, 1 << 20);
    std::vector<sluice::standalone_event> slots(64);
    std::size_t i = 0, failures = 0;
    for (auto _ : state) {
        for (const auto& e : events()) {
            sluice::standalone_event& s = slots[i++ & 63];
            s.assign(e.data(), e.size());
            failures += !dec.decode(s.slot);
        }
    }
    if (failures) state.SkipWithError("corpus event failed to decode");
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events().size()));
    state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_decode_sluice)->Unit(benchmark::kMillisecond);

// The ceiling: simdjson on-demand over the same (already padded) bytes,
// walking every top-level key and touching no value.
void BM_decode_simdjson_bare(benchmark::State& state) {
    const std::vector<std::string> padded = sluice::bench::padded(events());
    simdjson::ondemand::parser parser;
    std::size_t keys = 0;
    for (auto _ : state) keys += sluice::bench::bare_parse(parser, padded);
    benchmark::DoNotOptimize(keys);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events().size()));
    state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_decode_simdjson_bare)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
