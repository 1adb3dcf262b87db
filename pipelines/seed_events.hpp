// Realistic events of the seed systems, for the load generator, tests and benchmarks.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace sluice {

struct seed_event {
    std::string_view topic;
    std::string key;
    std::string value;
    std::string_view type;
};

// Design: one owner thread. Deterministic for a given seed (timestamps aside):
// both envelope styles, every seed event type in a plausible mix,
// ids that refer to users created earlier in the stream, keys = entity ids.
class seed_generator {
public:
    explicit seed_generator(std::uint64_t seed = 1);

    // Fills out with the next event, timestamped at wall_ns.
    void next(seed_event& out, std::int64_t wall_ns);
    std::uint64_t users_created() const noexcept { return users_; }

private:
    void uuid(std::string& out);
    std::uint64_t existing_user();
    void user_created(seed_event& out, const char* ts);
    void task(seed_event& out, const char* ts, bool completed);
    void portfolio(seed_event& out, const char* ts, std::string_view type, std::string_view topic);

    std::mt19937_64 rng_;
    std::uint64_t users_ = 0;
    std::uint64_t user_base_;
    std::string scratch_;
};

}  // namespace sluice
