// Completions of events, sent by the thread that finished them to the commit thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "decode/event_slot.hpp"
#include "ring/spsc_ring.hpp"
#include "ring/wait_strategy.hpp"
#include "stats/metrics.hpp"

namespace sluice {

struct ack {
    std::uint32_t partition;
    std::uint32_t epoch;  // acks of an earlier assignment of the partition are ignored
    std::uint64_t seq;
};

// What one releasing thread (a sink, or the commit thread) has finished:
// in-flight events and their held bytes, and (sinks) the bytes of output
// records not yet confirmed. Single writer; the source sums them.
struct alignas(64) release_totals {
    std::atomic<std::uint64_t> events{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::int64_t> output_bytes{0};  // records written and not yet confirmed or given up
};

// Design: one releasing thread (a sink, or the commit thread for dead-letter
// deliveries) owns the producer side and calls release() and hand_off(); the
// commit thread consumes. The ring holds at least as many acks as there are
// in-flight events, so a push fails only if the commit thread falls a whole
// pool behind. totals (optional) counts what this thread finished, for the
// source's in-flight bounds.
class ack_channel {
public:
    ack_channel(std::size_t capacity, release_metrics& metrics, waiter& commit_waiter,
                waiter& source_waiter, release_totals* totals = nullptr)
        : ring_(capacity), metrics_(metrics), commit_waiter_(commit_waiter),
          source_waiter_(source_waiter), totals_(totals) {}

    // Releasing thread: this thread's share of the event is done (its
    // records confirmed). If it was the last share, the event is complete:
    // report it.
    void release(in_flight_event& e) noexcept {
        // Read before the decrement: after it, the source may reuse the entry.
        const ack a{e.partition, e.epoch, e.seq};
        const done_times t{e.consumed_ns, e.kafka_ts_ns};
        const std::uint32_t bytes = e.held_bytes;
        // acq_rel: our reads of the entry happen-before the source reuses it.
        if (e.pending.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        if (totals_) {
            // Single writer: a plain add, published for the source's sum.
            totals_->events.store(totals_->events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            totals_->bytes.store(totals_->bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_release);
        }
        if (stamp_later_) {
            if (unstamped_ == std::size(unstamped_times_)) stamp(mono_ns());
            unstamped_times_[unstamped_++] = t;
        } else {
            record(t, mono_ns(), wall_ns());
        }
        metrics_.released.add();
        while (!ring_.try_push(a)) {
            if (same_thread_) {
                // The consumer is this thread: waiting would wait for ourselves.
                overflow_.push_back(a);
                break;
            }
            commit_waiter_.wake();
            std::this_thread::yield();
        }
        ++unsignalled_;
    }

    // Releasing thread: this thread has handed the slot's records to its
    // output and reads the slot no more; the last to do so frees it for the
    // source (the records' confirmations are still to come).
    void hand_off(event_slot& slot) noexcept {
        // acq_rel: our reads of the slot happen-before the source refills it.
        slot.pending.fetch_sub(1, std::memory_order_acq_rel);
        ++unsignalled_;
    }

    // Releasing thread: something the source may wait for was freed without
    // a release (output bytes settled); flush() wakes it.
    void progress() noexcept { ++unsignalled_; }

    // Releasing thread, once: it calls stamp() after each event it processes
    // and flush() after each batch, so release() need not read the clocks
    // (once per event is a visible share of a sink's time: perf/README.md).
    void stamp_later() noexcept { stamp_later_ = true; }

    // Releasing thread: the events completed since the last call were done
    // at now_mono_ns; record their in-pipeline and end-to-end latencies.
    void stamp(std::int64_t now_mono_ns) noexcept {
        const std::int64_t now_wall_ns = now_mono_ns + wall_minus_mono_ns_;
        for (std::size_t i = 0; i < unstamped_; ++i) record(unstamped_times_[i], now_mono_ns, now_wall_ns);
        unstamped_ = 0;
    }

    // Releasing thread, at the end of a batch: stamp what completed outside
    // process() (deliveries confirmed in poll()), and wake the source if it
    // waits for a free slot. The commit thread is woken only once the ring is half
    // full: it parks for at most a few ms and commits in batches anyway, so
    // waking it per batch would only buy context switches.
    void flush() noexcept {
        if (unstamped_) stamp(mono_ns());
        if (unsignalled_) {
            unsignalled_ = 0;
            // End-to-end compares with wall-clock timestamps; follow clock
            // adjustments once per batch instead of reading both clocks per event.
            wall_minus_mono_ns_ = wall_ns() - mono_ns();
            source_waiter_.notify();
            if (ring_.size_approx() * 2 > ring_.capacity()) commit_waiter_.notify();
        }
    }

    // Before any release: the releasing thread is the commit thread itself
    // (dead-letter deliveries), so a full ring spills into a list that the
    // same thread drains instead of waiting for a drain that cannot come.
    void same_thread_consumer() noexcept { same_thread_ = true; }

    // Commit thread.
    std::size_t drain(ack* out, std::size_t max) noexcept {
        std::size_t n = ring_.pop_batch(out, max);
        if (same_thread_ && n < max && !overflow_.empty()) {
            const std::size_t take = std::min(max - n, overflow_.size());
            std::copy(overflow_.end() - static_cast<std::ptrdiff_t>(take), overflow_.end(), out + n);
            overflow_.resize(overflow_.size() - take);
            n += take;
        }
        return n;
    }

private:
    struct done_times {
        std::int64_t consumed_ns;  // monotonic, when the source took the event
        std::int64_t ts_ns;        // wall clock, the event's timestamp (0: none)
    };

    void record(const done_times& t, std::int64_t now_mono_ns, std::int64_t now_wall_ns) noexcept {
        metrics_.in_pipeline.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now_mono_ns - t.consumed_ns, 0)));
        if (t.ts_ns > 0) metrics_.end_to_end.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now_wall_ns - t.ts_ns, 0)));
    }

    spsc_ring<ack> ring_;
    release_metrics& metrics_;
    waiter& commit_waiter_;
    waiter& source_waiter_;
    release_totals* totals_;
    std::uint32_t unsignalled_ = 0;
    bool stamp_later_ = false;
    bool same_thread_ = false;
    std::vector<ack> overflow_;  // same_thread_ only; grows only on the failure path
    std::int64_t wall_minus_mono_ns_ = wall_ns() - mono_ns();
    done_times unstamped_times_[64];
    std::size_t unstamped_ = 0;
};

}  // namespace sluice
