// What every source does with an event it read: slot, decode, route, hand to the sinks, tell the commit thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "commit/partition_table.hpp"
#include "config/config.hpp"
#include "dead_letter/dead_letter.hpp"
#include "decode/decoder.hpp"
#include "decode/trace_context.hpp"
#include "pipeline/flow.hpp"
#include "pipeline/routing.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// One event as a source read it. The bytes need only live for the call.
struct source_event {
    const void* payload = nullptr;  // nullptr: a tombstone
    std::size_t len = 0;
    const void* key = nullptr;
    std::size_t key_len = 0;
    std::int64_t offset = 0;
    std::int64_t timestamp_ns = 0;  // producer/broker time, 0 if unknown
    std::size_t original_len = 0;   // > len when the source kept only a prefix (oversize)
    const trace_header* trace = nullptr;  // propagated headers (kafka.trace.headers) present
    std::size_t trace_count = 0;
};

// Design: owned and used by the source thread only (the Kafka consumer or the
// replay reader). Slots are filled in pool order; the commit thread sees
// every dispatch, in order, through flow.to_commit. Slots and in-flight
// entries are taken in pool order (see event_slot.hpp).
class dispatcher {
public:
    dispatcher(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types, const event_schema& schema,
               const routing_table& routes, dead_letter_producer& dlq);

    // The partitions' lives (their one owner).
    partition_table& partitions() noexcept { return table_; }
    // A new epoch of topic/partition from absolute offset start (see
    // partition_table::assign); the commit thread hears of it before any of
    // its events. Throws partition_limit_error.
    std::uint32_t assign(std::string_view topic, std::int32_t partition, std::int64_t start, std::int64_t end);
    // A new epoch of an assigned partition at another offset.
    void reset(std::uint32_t partition_index, std::int64_t start);
    // The commit thread stops committing the partition's current epoch once
    // it takes this record (it then sets the view's closed_epoch).
    void close(std::uint32_t partition_index);
    // The partition's epoch ends: it is no longer assigned, and the table may
    // give its index to another partition once nothing of it is in flight.
    void release(std::uint32_t partition_index);
    // Every source, at the start of each round of reading: counts the loop
    // (the watchdog's sign of life) and applies a reloaded routing, between events.
    void begin_round() {
        metrics_.source.loops.add();
        routes_.apply_pending();
    }
    // The deadline of a drain that starts now: pipeline.revoke.drain.timeout.ms
    // from now, or the shutdown deadline if that comes first.
    std::int64_t drain_deadline_ns() const noexcept;
    // Waits until every event dispatched in the current epoch of each of idxs
    // is done, or until deadline_ns (monotonic). Marks the drained ones; false
    // if any is not drained (reported on stderr with what is left).
    bool drain(const std::vector<std::uint32_t>& idxs, std::int64_t deadline_ns);

    // Room for the next event: its slot is free (the sinks handed the last
    // one over), its in-flight entry is free (that event is confirmed), and
    // the bytes kept and queued are below pipeline.unconfirmed.max.bytes
    // (summed every 32 events while below, at every call once over).
    bool ready() noexcept;
    // Room for half a pool more: the slot and in-flight entry half a pool
    // ahead are free and the bytes are below half the bound (to resume).
    bool room_ahead() noexcept;
    // Waits (the source's wait strategy) until ready(), or at most park_for;
    // wakes the sinks first if they have unannounced work. Counts the wait
    // by what is missing (waits_for_slot, waits_for_delivery).
    void wait_for_room(std::chrono::microseconds park_for);

    // Dispatches into the next slot and in-flight entry; the caller checked ready().
    void dispatch(std::uint32_t partition_index, const source_event& e);
    // The source may have waited since its last dispatch (a poll, a read):
    // the next dispatch reads the clock for its start. Until then each
    // event's start is the previous one's end, saving one clock read per
    // event (perf/README.md has its cost).
    void restart_clock() noexcept { clock_ns_ = 0; }

    // Tells the sinks and the commit thread about what was dispatched since
    // the last call (once per batch, not per event). Sources call it before
    // they may block. Inline sinks are served here: their batch ends, their
    // polls run (deliveries), even with nothing new dispatched.
    void notify();
    // The same once pipeline.wake.after.events records are unannounced:
    // sources call it after each batch while more input may be queued.
    // Waking a parked sink costs a futex call and context switches on both
    // sides; waking for bigger batches trades latency for events/s.
    // Inline sinks are served after every batch whatever the threshold: their
    // flushes, polls and timers have no thread of their own.
    void notify_if_many() {
        if (inline_ || pending_notify_ >= cfg_.wake_after_events) notify();
    }
    // How long the source may block for input: 100 ms, or (inline sinks
    // with deliveries outstanding) 1 ms, as the sinks need their polls.
    std::chrono::microseconds max_block() const noexcept;
    // Assignment and revocation records, in order with the dispatches.
    void push_record(const flow_record& r);

    // Monotonic ns of the first event dispatched (0 before); any thread.
    std::int64_t first_event_mono_ns() const noexcept { return first_event_ns_.load(std::memory_order_relaxed); }
    const routing_table& routes() const noexcept { return routes_; }

private:
    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    const routing_table& routes_;
    dead_letter_producer& dlq_;
    decoder decoder_;
    std::uint64_t next_slot_ = 0;
    std::uint64_t next_event_ = 0;  // the next in-flight entry
    std::uint32_t bytes_check_ = 0;  // events since the bytes were last summed
    bool bytes_over_ = false;
    partition_table table_;
    std::atomic<std::int64_t> first_event_ns_{0};
    std::uint32_t pending_notify_ = 0;
    std::int64_t clock_ns_ = 0;  // end of the last dispatch; 0: read the clock
    inline_sinks* const inline_;  // nullptr: the sinks have threads (flow.sinks_inline)
};

}  // namespace sluice
