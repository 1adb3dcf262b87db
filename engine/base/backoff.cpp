// Full-jitter backoff and the per-process seed.
#include "base/backoff.hpp"

#include <algorithm>
#include <atomic>

namespace sluice {

std::uint64_t process_jitter_seed() noexcept {
    static const std::uint64_t seed = [] {
        std::random_device rd;
        return (std::uint64_t(rd()) << 32) ^ rd();
    }();
    return seed;
}

namespace {
std::uint64_t next_instance_seed() noexcept {
    static std::atomic<std::uint64_t> instances{0};
    return process_jitter_seed() + 0x9e3779b97f4a7c15ull * (instances.fetch_add(1, std::memory_order_relaxed) + 1);
}
}  // namespace

backoff::backoff(std::int64_t base_ns, std::int64_t max_ns) : backoff(base_ns, max_ns, next_instance_seed()) {}

backoff::backoff(std::int64_t base_ns, std::int64_t max_ns, std::uint64_t seed)
    : base_ns_(std::max<std::int64_t>(base_ns, 1)), max_ns_(std::max(max_ns, base_ns_)), rng_(seed) {}

std::int64_t backoff::cap_ns(std::uint32_t attempt) const noexcept {
    std::int64_t cap = base_ns_;
    for (std::uint32_t i = 1; i < attempt && cap < max_ns_; ++i) cap *= 2;
    return std::min(cap, max_ns_);
}

std::int64_t backoff::delay_ns(std::uint32_t attempt) {
    return std::uniform_int_distribution<std::int64_t>(0, cap_ns(attempt))(rng_);
}

}  // namespace sluice
