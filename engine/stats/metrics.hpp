// Counters and histograms of every role, written by their owner thread, read by stats.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/routing.hpp"
#include "stats/histogram.hpp"

namespace sluice {

// One writer (the owning thread); readers load relaxed. Padded so two roles'
// counters never share a cache line.
struct counter {
    std::atomic<std::uint64_t> v{0};
    void add(std::uint64_t n = 1) noexcept {
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
    void set(std::uint64_t n) noexcept { v.store(n, std::memory_order_relaxed); }  // as a gauge
};

struct alignas(64) source_metrics {
    counter consumed, bytes, decoded, dead_lettered, consume_errors, pauses, resumes,
        rebalances, assigned_partitions, blocked_ns,
        redelivered,           // messages librdkafka delivered twice within one assignment, skipped
        stale_dropped,         // messages of a partition not assigned (in this epoch) when handled
        offset_resets,         // positions sluice moved because the broker no longer had them
        reset_skipped,         // offsets jumped over by forward resets (gone from the log)
        reset_rewound,         // offsets read again after backward resets (log truncated)
        rebalance_duplicates,  // events consumed again after a rebalance, at offsets done before
        rebalance_ns,          // time in rebalance callbacks: start offsets, drains, revoke commits
        waits_for_slot,        // dispatch waits: no free slot (sinks behind)
        waits_for_delivery,    // dispatch waits: pipeline.unconfirmed.max.events or .bytes reached (outputs behind)
        loops;                 // iterations of the source loop: the watchdog's sign of life
    histogram decode;  // payload copy + simdjson decode + routing
};

struct alignas(64) sink_metrics {
    counter processed, failed, retried, dead_lettered, deduplicated, partial, outputs;
    counter loops;  // iterations of the sink loop: the watchdog's sign of life
    counter output_rebuilds;  // output producers replaced after a fatal error
    counter held_for_order;   // records that waited behind a resend of their key
    counter output_queue_full;  // records the output's full queue refused, offered again later
    counter waiting_for_resend;  // gauge: records in per-key resend queues now
    histogram queue_wait;  // dispatch -> sink picked it up
    histogram process;     // sink's own work per event
};

// End-to-end latency, per releasing thread (each sink and the commit thread).
struct alignas(64) release_metrics {
    histogram end_to_end;   // Kafka message timestamp -> last sink done
    histogram in_pipeline;  // source took it from librdkafka -> last sink done
    counter released;
};

// Dead letters counted by the kind of failure (the reason up to its first
// ':', e.g. "missing field"), for a per-reason rate. Failure path only, any
// thread: a mutex is cheap next to producing the dead letter.
class dead_letter_reasons {
public:
    static constexpr std::size_t max_kinds = 64;  // bounds the label's cardinality
    void add(std::string_view reason) {
        std::string_view kind = reason.substr(0, reason.find(':'));
        std::lock_guard lock(mutex_);
        auto it = counts_.find(kind);
        if (it == counts_.end()) it = counts_.emplace(counts_.size() < max_kinds ? kind : "other", 0).first;
        ++it->second;
    }
    std::map<std::string, std::uint64_t, std::less<>> snapshot() const {
        std::lock_guard lock(mutex_);
        return counts_;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::uint64_t, std::less<>> counts_;
};

struct alignas(64) commit_metrics {
    counter commits, commit_failures, dlq_delivered, dlq_retries;
    counter loops;  // iterations of the commit loop: the watchdog's sign of life
    counter dlq_rebuilds;  // dead-letter producers replaced after a fatal error
    counter answers_by_name;  // commit answer elements whose opaque did not name their request entry
    histogram round_trip;  // commit request -> broker answer
    dead_letter_reasons dead_letter_kinds;  // every dead letter sent, by kind of failure
};

// A topic partition's name. Interned by the source's partition table and
// never freed, so a pointer to one stays valid for the process.
struct partition_name {
    std::string topic;
    std::int32_t partition = -1;
};

// Per-partition view published by the commit thread and the source. The
// index of a view is reused for another partition only once no event of the
// previous one is in flight, so a sink reading `name` of its slot's view
// always sees its own partition; readers that may race with a reuse (stats)
// load `name` once and use that pointer.
// partition_view::done_mark: an epoch's low 24 bits and its done count's low 40.
inline constexpr std::uint64_t done_mark(std::uint64_t epoch, std::uint64_t done) noexcept {
    return (epoch & 0xFFFFFF) << 40 | (done & ((std::uint64_t(1) << 40) - 1));
}
inline constexpr std::uint64_t done_count_of(std::uint64_t mark) noexcept { return mark & ((std::uint64_t(1) << 40) - 1); }
inline constexpr bool done_mark_is_epoch(std::uint64_t mark, std::uint64_t epoch) noexcept {
    return mark >> 40 == (epoch & 0xFFFFFF);
}

struct alignas(64) partition_view {
    std::atomic<const partition_name*> name{nullptr};  // source: set before the index is used
    std::atomic<bool> assigned{false};
    std::atomic<std::uint64_t> assign_epoch{0};  // source: bumped on every assignment and reset
    // commit thread: the epoch (high 24 bits) and its done count (low 40
    // bits) in one store, so the source's drain never pairs one epoch's
    // count with another epoch.
    std::atomic<std::uint64_t> done_mark{0};
    std::uint64_t done() const noexcept { return done_count_of(done_mark.load(std::memory_order_acquire)); }
    std::atomic<std::uint64_t> closed_epoch{0};  // commit thread: last epoch it stopped committing
    std::atomic<std::uint64_t> dispatched{0};  // source: events handed to sinks since assignment
    std::atomic<std::int64_t> commit_offset{-1};     // watermark: next offset to commit
    std::atomic<std::int64_t> committed_offset{-1};  // confirmed by the broker
    std::atomic<std::int64_t> high_watermark{-1};
    std::atomic<std::uint64_t> exposure{0};          // processed, not yet committed
    std::atomic<std::int64_t> exposure_age_ns{0};
    std::atomic<std::uint64_t> consumed{0};          // lifetime
    std::atomic<std::int64_t> start_offset{-1};      // source: low watermark at assignment
    std::atomic<std::int64_t> end_at_assign{-1};     // source: high watermark at assignment (commit thread: the first known, if unknown then)
    std::atomic<std::uint64_t> revoke_exposure{0};   // source: exposure when last revoked

    std::string_view topic() const noexcept {
        const partition_name* n = name.load(std::memory_order_acquire);
        return n ? std::string_view(n->topic) : std::string_view();
    }
    std::int32_t partition() const noexcept {
        const partition_name* n = name.load(std::memory_order_acquire);
        return n ? n->partition : -1;
    }
};

inline constexpr std::size_t max_partitions = 4096;


struct pipeline_metrics {
    source_metrics source;
    std::array<sink_metrics, max_sinks> sinks;
    std::array<release_metrics, max_sinks + 1> releases;  // sinks..., commit thread last
    commit_metrics commit;
    std::unique_ptr<partition_view[]> partitions{new partition_view[max_partitions]};
    std::atomic<std::uint32_t> partition_count{0};  // indexes ever used (release by source)
    std::vector<std::string> sink_names;
    std::atomic<std::int64_t> started_wall_ns{0};
    std::string group_id, client_id;  // set before the stats server starts (sluice_consumer_info)
    bool sinks_inline = false;  // set before the stats server starts: sinks run on the source thread
    // Where the process is in its life (written by the control thread, read
    // by the stats thread for /ready, /health and sluice_ready).
    enum class phase : std::uint8_t { starting, ready, stopping };
    std::atomic<phase> life{phase::starting};
    // A role thread that stopped looping (static storage), or null.
    std::atomic<const char*> stalled_role{nullptr};
};

}  // namespace sluice
