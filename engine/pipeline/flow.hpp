// The shared structures between the source, the sinks and the commit thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "config/live_settings.hpp"
#include "decode/event_slot.hpp"
#include "ring/ack_channel.hpp"
#include "ring/spsc_ring.hpp"
#include "ring/wait_strategy.hpp"
#include "stats/metrics.hpp"

namespace sluice {

class inline_sinks;

// Source -> commit thread, in dispatch order. done_now: dispatched and done
// at once (routed to no sink).
struct flow_record {
    enum class kind : std::uint8_t { dispatch, done_now, assign, revoke } type;
    std::uint32_t partition;
    std::uint64_t seq;     // dispatch/done_now: per-partition seq; assign: epoch
    std::int64_t offset;
    std::uint32_t epoch = 0;  // dispatch/done_now: the assignment epoch
};

// The source's records to the commit thread, in order, and the one owner of
// the commit order: the commit thread takes the record of an event's dispatch
// before any ack of that event. Why: a watermark marks done only what it saw
// dispatched (partition_watermark::done refuses an unknown seq), so an ack
// taken before its record would be lost and its partition would never drain.
// Both halves go through this type:
// - push(): the source pushes an event's dispatch record before it hands the
//   event to anything that may ack it (a sink ring's push, an inline sink's
//   call, the dead-letter producer's send all come after this push);
// - collect(): the commit thread drains the acks first, then the records. An
//   ack it read was sent after its event was handed over, so after its
//   record was pushed; the release/acquire chain (this ring, the hand-over,
//   the ack ring, then this ring's acquire in pop_batch) makes that record
//   visible to the drain that follows.
// Design: one producer (the source thread: push, size_approx), one consumer
// (the commit thread: collect, empty_approx); try_push is for tests that
// play the source.
class commit_records {
public:
    explicit commit_records(std::size_t capacity) : ring_(capacity) {}

    // Source thread. Waits while the ring is full (waking the commit thread);
    // false if it had to wait.
    bool push(const flow_record& r, waiter& commit_waiter) noexcept {
        bool waited = false;
        while (!ring_.try_push(r)) {
            commit_waiter.wake();
            std::this_thread::yield();
            waited = true;
        }
        return !waited;
    }
    [[nodiscard]] bool try_push(const flow_record& r) noexcept { return ring_.try_push(r); }

    // Commit thread: up to per_channel acks from each channel into acks, then
    // every record queued, each to take(record). Returns the number of acks;
    // took_records tells whether any record was taken.
    template <class Take>
    std::size_t collect(const std::vector<ack_channel*>& channels, ack* acks, std::size_t per_channel, Take&& take,
                        bool& took_records) {
        std::size_t nacks = 0;
        for (ack_channel* ch : channels) nacks += ch->drain(acks + nacks, per_channel);
        took_records = false;
        flow_record batch[256];
        for (;;) {
            const std::size_t n = ring_.pop_batch(batch, 256);
            if (n == 0) break;
            took_records = true;
            for (std::size_t i = 0; i < n; ++i) take(batch[i]);
        }
        return nacks;
    }

    bool empty_approx() const noexcept { return ring_.empty_approx(); }
    std::size_t size_approx() const noexcept { return ring_.size_approx(); }
    std::size_t capacity() const noexcept { return ring_.capacity(); }

private:
    spsc_ring<flow_record> ring_;
};

// Design: built by the pipeline on the control thread before any role starts;
// afterwards every member is used as its comment says.
struct flow {
    // waits: one per sink, then the commit thread, then the source.
    // in_flight: events dispatched and not yet confirmed (at least slots).
    flow(std::size_t slots, std::size_t sinks, const std::vector<thread_settings>& waits, std::size_t in_flight = 0);

    std::vector<event_slot> pool;                       // source fills, sinks read
    std::vector<in_flight_event> in_flight;             // source fills, the releasing threads finish
    std::vector<release_totals> released;               // one per sink, then the commit thread
    release_totals taken;                               // source: in-flight events taken and their bytes

    // Any thread: events dispatched and not yet finished, and the bytes kept
    // for them plus the output records not yet confirmed (approximate while
    // the pipeline runs: the counters are read one after another).
    std::uint64_t in_flight_events() const noexcept;
    // Any thread: in-flight events finished so far (a sign of delivery progress).
    std::uint64_t released_events() const noexcept;
    std::uint64_t in_flight_bytes() const noexcept;
    std::vector<std::unique_ptr<spsc_ring<std::uint32_t>>> sink_rings;  // source -> sink i
    std::vector<std::unique_ptr<waiter>> sink_waiters;  // sink i sleeps here
    commit_records to_commit;                           // source -> commit thread
    waiter commit_waiter;
    waiter source_waiter;
    std::atomic<bool> stop_source{false};
    std::atomic<bool> stop_sinks{false};
    std::atomic<bool> stop_commit{false};
    std::atomic<bool> commit_requested{false};  // any thread: commit now, not at the interval
    std::atomic<bool> source_failed{false};     // source: cannot go on (the reason is on stderr)
    // Control thread, when stopping: monotonic ns by which every role gives
    // up waiting (drains, final commit, deliveries). INT64_MAX while running.
    std::atomic<std::int64_t> shutdown_deadline_ns{INT64_MAX};
    live_settings live;                         // control thread writes; see live_settings
    // Set before any role starts when the sinks run on the source thread
    // (pipeline.sinks = "inline"); then nothing is pushed into the sink rings
    // and no thread waits on the sink waiters.
    inline_sinks* sinks_inline = nullptr;
};

}  // namespace sluice
