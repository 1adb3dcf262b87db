// Counters and histograms of every role, written by their owner thread, read by stats.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "routing.hpp"

namespace sluice {

// One writer (the owning thread); readers load relaxed. Padded so two roles'
// counters never share a cache line.
struct counter {
    std::atomic<std::uint64_t> v{0};
    void add(std::uint64_t n = 1) noexcept {
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

struct alignas(64) source_metrics {
    counter consumed, bytes, decoded, dead_lettered, consume_errors, pauses, resumes,
        rebalances, assigned_partitions, blocked_ns,
        redelivered;  // messages librdkafka delivered twice within one assignment, skipped
    histogram decode;  // payload copy + simdjson decode + routing
};

struct alignas(64) sink_metrics {
    counter processed, failed, retried, dead_lettered, deduplicated, partial, outputs;
    counter output_rebuilds;  // output producers replaced after a fatal error
    counter held_for_order;   // records that waited behind a resend of their key
    histogram queue_wait;  // dispatch -> sink picked it up
    histogram process;     // sink's own work per event
};

// End-to-end latency, per releasing thread (each sink and the commit thread).
struct alignas(64) release_metrics {
    histogram end_to_end;   // Kafka message timestamp -> last sink done
    histogram in_pipeline;  // source took it from librdkafka -> last sink done
    counter released;
};

struct alignas(64) commit_metrics {
    counter commits, commit_failures, dlq_delivered, dlq_retries;
    counter dlq_rebuilds;  // dead-letter producers replaced after a fatal error
    histogram round_trip;  // commit request -> broker answer
};

// Per-partition view published by the commit thread (and topic/partition
// written once by the source before `known` is set).
struct alignas(64) partition_view {
    std::string topic;
    std::int32_t partition = -1;
    std::atomic<bool> known{false};
    std::atomic<bool> assigned{false};
    std::atomic<std::uint64_t> assign_epoch{0};  // source: bumped on every assignment
    std::atomic<std::uint64_t> done_epoch{0};    // commit thread: epoch `done` belongs to
    std::atomic<std::uint64_t> dispatched{0};  // source: events handed to sinks since assignment
    std::atomic<std::uint64_t> done{0};        // commit thread: of those, fully done
    std::atomic<std::int64_t> commit_offset{-1};     // watermark: next offset to commit
    std::atomic<std::int64_t> committed_offset{-1};  // confirmed by the broker
    std::atomic<std::int64_t> high_watermark{-1};
    std::atomic<std::uint64_t> exposure{0};          // processed, not yet committed
    std::atomic<std::int64_t> exposure_age_ns{0};
    std::atomic<std::uint64_t> consumed{0};          // lifetime
    std::atomic<std::int64_t> start_offset{-1};      // source: low watermark at assignment
    std::atomic<std::int64_t> end_at_assign{-1};     // source: high watermark at assignment
};

inline constexpr std::size_t max_partitions = 4096;

struct pipeline_metrics {
    source_metrics source;
    std::array<sink_metrics, max_sinks> sinks;
    std::array<release_metrics, max_sinks + 1> releases;  // sinks..., commit thread last
    commit_metrics commit;
    std::unique_ptr<partition_view[]> partitions{new partition_view[max_partitions]};
    std::atomic<std::uint32_t> partition_count{0};  // indexes in use (release by source)
    std::vector<std::string> sink_names;
    std::atomic<std::int64_t> started_wall_ns{0};
};

}  // namespace sluice
