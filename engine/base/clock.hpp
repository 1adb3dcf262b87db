// Clocks for latency measurement.
#pragma once

#include <cstdint>
#include <ctime>

namespace sluice {

// Monotonic ns (vDSO, ~20 ns): stage latencies.
inline std::int64_t mono_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Wall-clock ns: end-to-end latency against Kafka message timestamps.
inline std::int64_t wall_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace sluice
