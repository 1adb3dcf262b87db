// Exponential backoff with full jitter, seeded once per process.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace sluice {

// Design: owned by one thread (or used under its owner's lock). The delay of
// attempt n is drawn uniformly from [0, min(max, base * 2^(n-1))] ("full
// jitter"): after an outage the retries of many records spread over the
// interval instead of firing together, and the bound stays as configured.
class backoff {
public:
    // Seeded from the process seed and a per-instance counter, so two
    // instances (and two processes) draw different delays.
    backoff(std::int64_t base_ns, std::int64_t max_ns);
    // A fixed seed, for tests that need a reproducible sequence.
    backoff(std::int64_t base_ns, std::int64_t max_ns, std::uint64_t seed);

    // New bounds from the next delay on (a reloaded configuration).
    void set_bounds(std::int64_t base_ns, std::int64_t max_ns) noexcept {
        base_ns_ = std::max<std::int64_t>(base_ns, 1);
        max_ns_ = std::max(max_ns, base_ns_);
    }
    // The upper bound of attempt's delay (attempt >= 1).
    std::int64_t cap_ns(std::uint32_t attempt) const noexcept;
    // A delay for the retry after attempt `attempt` failed.
    std::int64_t delay_ns(std::uint32_t attempt);

private:
    std::int64_t base_ns_, max_ns_;
    std::mt19937_64 rng_;
};

// Drawn once per process from std::random_device.
std::uint64_t process_jitter_seed() noexcept;

}  // namespace sluice
