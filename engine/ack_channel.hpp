// Completions of events, sent by the thread that finished them to the commit thread.
#pragma once

#include <cstdint>
#include <thread>

#include "clock.hpp"
#include "event_slot.hpp"
#include "metrics.hpp"
#include "spsc_ring.hpp"
#include "wait_strategy.hpp"

namespace sluice {

struct ack {
    std::uint32_t partition;
    std::uint32_t epoch;  // acks of an earlier assignment of the partition are ignored
    std::uint64_t seq;
};

// Design: one releasing thread (a sink, or the commit thread for dead-letter
// deliveries) owns the producer side and calls release(); the commit thread
// consumes. The ring holds at least as many acks as there are slots, so a
// push fails only if the commit thread falls a whole pool behind.
class ack_channel {
public:
    ack_channel(std::size_t capacity, release_metrics& metrics, waiter& commit_waiter,
                waiter& source_waiter)
        : ring_(capacity), metrics_(metrics), commit_waiter_(commit_waiter),
          source_waiter_(source_waiter) {}

    // Releasing thread: this thread's share of the slot is done. If it was the
    // last share, the event is complete: report it.
    void release(event_slot& slot) noexcept {
        // Read before the decrement: after it, the source may refill the slot.
        const ack a{slot.partition, slot.epoch, slot.seq};
        const std::int64_t ts = slot.kafka_ts_ns;
        const std::int64_t consumed = slot.consumed_ns;
        // acq_rel: our reads of the slot happen-before the source reuses it.
        if (slot.pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        metrics_.in_pipeline.record(static_cast<std::uint64_t>(std::max<std::int64_t>(mono_ns() - consumed, 0)));
        if (ts > 0) metrics_.end_to_end.record(static_cast<std::uint64_t>(std::max<std::int64_t>(wall_ns() - ts, 0)));
        metrics_.released.add();
        while (!ring_.try_push(a)) {
            commit_waiter_.wake();
            std::this_thread::yield();
        }
        ++unsignalled_;
    }

    // Releasing thread, at the end of a batch: wake the source if it waits
    // for a free slot. The commit thread is woken only once the ring is half
    // full: it parks for at most a few ms and commits in batches anyway, so
    // waking it per batch would only buy context switches.
    void flush() noexcept {
        if (unsignalled_) {
            unsignalled_ = 0;
            source_waiter_.notify();
            if (ring_.size_approx() * 2 > ring_.capacity()) commit_waiter_.notify();
        }
    }

    // Commit thread.
    std::size_t drain(ack* out, std::size_t max) noexcept { return ring_.pop_batch(out, max); }

private:
    spsc_ring<ack> ring_;
    release_metrics& metrics_;
    waiter& commit_waiter_;
    waiter& source_waiter_;
    std::uint32_t unsignalled_ = 0;
};

}  // namespace sluice
