// The interface between the engine and a sink's domain logic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dead_letter/dead_letter.hpp"
#include "decode/event_slot.hpp"
#include "decode/type_registry.hpp"
#include "ring/ack_channel.hpp"
#include "stats/metrics.hpp"

namespace sluice {

struct settings;

// What the engine hands a sink: the way to finish an event, its counters,
// and the dead-letter producer. All of it is used on the thread that runs
// the sink (its own, or the source thread when pipeline.sinks is inline).
struct sink_context {
    ack_channel& releases;
    sink_metrics& metrics;
    const type_registry& types;
    dead_letter_producer& dead_letters;
    // Views by partition index; an event's view keeps its name while the
    // event is in flight.
    const partition_view* partitions;
    // Output bytes written and not yet confirmed, for the source's bound
    // (pipeline.unconfirmed.max.bytes); nullptr: not counted.
    release_totals* totals = nullptr;

    // The event is finished in this sink: every record written for it is
    // confirmed (or there was none).
    void done(in_flight_event& e) noexcept {
        metrics.processed.add();
        releases.release(e);
    }
    void done(event_slot& slot) noexcept { done(*slot.original); }
    // The event failed for good in sink `sink`: write it to the dead-letter
    // topic; its share is released when that write is confirmed. Attempt
    // times are wall-clock ns (0: now).
    void dead_letter(in_flight_event& e, std::string_view reason, std::uint32_t attempts, std::string_view sink = {},
                     std::int64_t first_attempt_ns = 0, std::int64_t last_attempt_ns = 0) {
        metrics.dead_lettered.add();
        const partition_view& p = partitions[e.partition];
        dead_letters.send(e, p.topic(), p.partition(), reason, attempts, sink, first_attempt_ns, last_attempt_ns);
    }
    // Output records' bytes: written (positive) or settled (negative).
    void output_bytes(std::int64_t delta) noexcept {
        if (!totals) return;
        totals->output_bytes.store(totals->output_bytes.load(std::memory_order_relaxed) + delta,
                                   std::memory_order_release);
        if (delta < 0) releases.progress();
    }
};

// Design: every method runs on the thread that runs the sink (see
// sink_context), never on two. process() must never block, and must lead to
// exactly one ctx.done() or ctx.dead_letter() for the event, now or from a
// later poll() (when an output confirms delivery). The slot may be read only
// during process(): once it returns, the runner hands the slot back (its
// records are with the output); what a later retry or dead letter needs is
// in the in-flight event (slot.original), kept until it is finished.
class sink {
public:
    virtual ~sink() = default;
    virtual std::string_view name() const noexcept = 0;
    virtual void process(event_slot& slot, std::uint32_t slot_index) = 0;
    // An event process() will get two events from now, its slot and payload
    // already on their way into the cache: start loading the table entries
    // process() will look up for it (__builtin_prefetch), so those cache
    // misses overlap the work in between. Changes no state.
    virtual void prefetch(const event_slot& slot) {}
    // The event process() will get next, whose table entries prefetch()
    // started loading one event ago: start loading what those entries point
    // to (records kept apart from their index), which would otherwise be a
    // second miss in turn. Changes no state.
    virtual void prefetch_found(const event_slot& slot) {}
    // End of a batch of process() calls: flush batched output.
    virtual void end_of_batch() {}
    // Deliveries, retries, timers. Returns true if it did any work.
    virtual bool poll(std::int64_t now_ns) { return false; }
    // The pipeline is stopping and every event has been handed over: flush
    // state that would otherwise be lost (e.g. an open window). Called once.
    virtual void stop() {}
    // Nothing pending: every processed slot has been finished.
    virtual bool idle() const noexcept { return true; }
    // Control thread, on a reload: takes from next what this sink changes
    // while running (its thread reads it at its next decision).
    virtual void reload(const settings& next) {}
    // Live values for the stats socket as a JSON object (thread-safe snapshot).
    virtual std::string live_json() const { return "{}"; }
};

}  // namespace sluice
