// The thread loop of one sink: pop a batch of slots, process, flush, poll, park.
#pragma once

#include "base/clock.hpp"
#include "pipeline/flow.hpp"
#include "sink/sink.hpp"

namespace sluice {

// One event through one sink, on whichever thread runs the sink: process,
// hand the slot back, record the sink's time from start_ns. Returns the end,
// the next event's start (one clock read per event).
inline std::int64_t process_in_sink(sink& s, sink_context& ctx, event_slot& slot, std::uint32_t slot_index,
                                    std::int64_t start_ns) {
    s.process(slot, slot_index);
    ctx.releases.hand_off(slot);  // its records are with the output now
    const std::int64_t end_ns = mono_ns();
    ctx.metrics.process.record(static_cast<std::uint64_t>(end_ns - start_ns));
    ctx.releases.stamp(end_ns);  // if process() completed the event
    return end_ns;
}

// At the shutdown deadline with deliveries outstanding: they are given up,
// their events stay uncommitted and are read again. Says so on the log.
void give_up_deliveries(const sink& s);

// Design: run() is the sink's thread; it owns the sink and its ack channel.
class sink_runner {
public:
    sink_runner(flow& f, std::size_t index, sink& s, sink_context& ctx)
        : flow_(f), index_(index), sink_(s), ctx_(ctx) {}

    // Until flow.stop_sinks is set and the ring is empty and the sink idle.
    void run();

private:
    flow& flow_;
    std::size_t index_;
    sink& sink_;
    sink_context& ctx_;
};

}  // namespace sluice
