// Sink thread loop.
#include "sink/sink_runner.hpp"

#include <algorithm>
#include <cstdio>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

namespace {
// The source wrote the slots and payloads on another core, and what a sink
// looks up depends on them: load them in stages, each far enough ahead for
// the previous stage's lines to have arrived, so the transfers and table
// misses overlap the work on earlier events.
constexpr std::size_t slot_ahead = 6;     // the slot's lines
constexpr std::size_t payload_ahead = 4;  // the payload's first lines (address and length are in the slot)
constexpr std::size_t lookup_ahead = 2;   // sink::prefetch: the table entries its ids hash to
constexpr std::size_t found_ahead = 1;    // sink::prefetch_found: what those entries point to
constexpr std::size_t payload_prefetch_bytes = 512;

void prefetch_slot(const event_slot& slot) noexcept {
    const char* p = reinterpret_cast<const char*>(&slot);
    for (std::size_t off = 0; off < sizeof(event_slot); off += 64) __builtin_prefetch(p + off);
}

void prefetch_payload(const event_slot& slot) noexcept {
    const char* p = slot.payload();
    const std::size_t len = std::min<std::size_t>(slot.payload_len(), payload_prefetch_bytes);
    for (std::size_t off = 0; off < len; off += 64) __builtin_prefetch(p + off);
}
}  // namespace

void give_up_deliveries(const sink& s) {
    logf(log_level::warning, "shutdown", "sink %.*s: deliveries still outstanding at the shutdown deadline; "
                                         "their events are not committed",
         static_cast<int>(s.name().size()), s.name().data());
}

void sink_runner::run() {
    spsc_ring<std::uint32_t>& ring = *flow_.sink_rings[index_];
    waiter& w = *flow_.sink_waiters[index_];
    std::uint32_t batch[64];
    bool stopped = false;
    ctx_.releases.stamp_later();
    for (;;) {
        ctx_.metrics.loops.add();
        const std::size_t n = ring.pop_batch(batch, 64);
        // One clock read per event: an event's end is the next one's start.
        std::int64_t t0 = n ? mono_ns() : 0;
        for (std::size_t i = 0; i < n && i < slot_ahead; ++i) prefetch_slot(flow_.pool[batch[i]]);
        for (std::size_t i = 0; i < n && i < payload_ahead; ++i) prefetch_payload(flow_.pool[batch[i]]);
        for (std::size_t i = 0; i < n && i < lookup_ahead; ++i) sink_.prefetch(flow_.pool[batch[i]]);
        for (std::size_t i = 0; i < n && i < found_ahead; ++i) sink_.prefetch_found(flow_.pool[batch[i]]);
        for (std::size_t i = 0; i < n; ++i) {
            if (i + slot_ahead < n) prefetch_slot(flow_.pool[batch[i + slot_ahead]]);
            if (i + payload_ahead < n) prefetch_payload(flow_.pool[batch[i + payload_ahead]]);
            if (i + lookup_ahead < n) sink_.prefetch(flow_.pool[batch[i + lookup_ahead]]);
            if (i + found_ahead < n) sink_.prefetch_found(flow_.pool[batch[i + found_ahead]]);
            event_slot& slot = flow_.pool[batch[i]];
            ctx_.metrics.queue_wait.record(static_cast<std::uint64_t>(std::max<std::int64_t>(t0 - slot.dispatched_ns, 0)));
            t0 = process_in_sink(sink_, ctx_, slot, batch[i], t0);
        }
        if (n) sink_.end_of_batch();
        const bool polled = sink_.poll(mono_ns());
        ctx_.releases.flush();
        if (n || polled) {
            w.reset();
            continue;
        }
        if (flow_.stop_sinks.load(std::memory_order_acquire) && ring.empty_approx()) {
            if (!stopped) {
                stopped = true;
                sink_.stop();
                sink_.end_of_batch();
                continue;
            }
            if (sink_.idle()) return;
            if (mono_ns() >= flow_.shutdown_deadline_ns.load(std::memory_order_acquire)) {
                give_up_deliveries(sink_);
                return;
            }
        }
        // With deliveries outstanding, wake soon to serve their reports.
        w.idle([&] { return !ring.empty_approx(); },
               sink_.idle() ? std::chrono::microseconds(100'000) : std::chrono::microseconds(1000));
    }
}

}  // namespace sluice
