// The settings a running pipeline takes on reload (SIGHUP), shared as atomics.
#pragma once

#include <atomic>
#include <cstdint>

#include "config/config.hpp"

namespace sluice {

// Design: written by the control thread (at start and on reload), read
// relaxed by the thread that uses each one, at its next decision: the commit
// thread (commit batching), each sink's delivery tracker (retry).
// Routing is reloaded through routing_table::propose() instead (the source
// thread applies it), and a sink's own settings through sink::reload().
struct live_settings {
    std::atomic<std::uint32_t> commit_max_events{0}, commit_interval_ms{0};
    std::atomic<std::uint32_t> retry_max_attempts{0}, retry_backoff_ms{0}, retry_backoff_max_ms{0};

    live_settings() { store(settings{}); }
    void store(const settings& s) noexcept {
        commit_max_events.store(s.commit_max_events, std::memory_order_relaxed);
        commit_interval_ms.store(s.commit_interval_ms, std::memory_order_relaxed);
        retry_max_attempts.store(s.retry_max_attempts, std::memory_order_relaxed);
        retry_backoff_ms.store(s.retry_backoff_ms, std::memory_order_relaxed);
        retry_backoff_max_ms.store(s.retry_backoff_max_ms, std::memory_order_relaxed);
    }
};

}  // namespace sluice
