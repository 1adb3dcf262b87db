// Notices a role thread that stopped looping: the watchdog pings only while none has.
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/pipeline.hpp"

namespace sluice {

// Design: control thread only. A role is stalled when its loop counter has
// not changed for stall_ns; a slow broker does not stall a role (its loops
// wake at least every 100 ms whatever Kafka does), a stuck thread does.
class role_watch {
public:
    role_watch(std::vector<pipeline::heartbeat> beats, std::int64_t stall_ns, std::int64_t now_ns)
        : beats_(std::move(beats)), stall_ns_(stall_ns) {
        for (const auto& b : beats_) seen_.push_back({b.loops(), now_ns});
    }

    // The first stalled role, or null.
    const char* stalled(std::int64_t now_ns) {
        const char* first = nullptr;
        for (std::size_t i = 0; i < beats_.size(); ++i) {
            const std::uint64_t n = beats_[i].loops();
            if (n != seen_[i].loops) seen_[i] = {n, now_ns};
            else if (!first && now_ns - seen_[i].changed_ns > stall_ns_) first = beats_[i].role;
        }
        return first;
    }

private:
    struct seen {
        std::uint64_t loops;
        std::int64_t changed_ns;
    };
    std::vector<pipeline::heartbeat> beats_;
    std::vector<seen> seen_;
    std::int64_t stall_ns_;
};

}  // namespace sluice
