// The benchmark corpus: seed events of both envelope styles, deterministic.
#pragma once

#include <string>
#include <vector>

#include "seed_events.hpp"

namespace sluice::bench {

// n events from the load generator with seed 42 and fixed timestamps
// (1 ms apart from 2025-01-01), so every run parses the same bytes.
inline std::vector<std::string> corpus(std::size_t n = 10000) {
    seed_generator gen(42);
    seed_event ev;
    std::vector<std::string> out;
    out.reserve(n);
    const std::int64_t start = 1735689600LL * 1'000'000'000;
    for (std::size_t i = 0; i < n; ++i) {
        gen.next(ev, start + std::int64_t(i) * 1'000'000);
        out.push_back(ev.value);
    }
    return out;
}

}  // namespace sluice::bench
