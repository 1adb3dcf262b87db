// Sinks run to completion on the source thread (pipeline.sinks = "inline").
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "pipeline/flow.hpp"
#include "pipeline/routing.hpp"
#include "sink/sink.hpp"

namespace sluice {

// With fewer CPUs than roles, handing an event to a parked sink thread costs
// a futex wake-up and a wait for a free core, far more than the sink's own
// work: here every routed sink processes the event right after its decode,
// on the source thread, and the source serves the sinks' polls (deliveries,
// retries, timers) between batches and while it waits. Outputs stay
// asynchronous, so nothing here blocks: a full producer queue is the same
// backpressure as with sink threads (the in-flight bounds).
//
// Design: after construction every method runs on the source thread, which
// owns the sinks and the producer side of their ack channels.
class inline_sinks {
public:
    inline_sinks(flow& f, std::vector<sink*> sinks, std::vector<sink_context*> contexts);

    // Every sink of mask processes the slot (its pending count is its share
    // count); start_ns is the end of decode. Returns the end of the last
    // sink's work.
    std::int64_t process(event_slot& slot, std::uint32_t slot_index, sink_mask mask, std::int64_t start_ns);
    // End of a batch: flush batched output of the sinks that processed since
    // the last call, serve every sink's poll, report what completed. True
    // if anything was done.
    bool serve();
    // How long the source may block for input: short while deliveries are
    // outstanding (their reports are served here), else as long as a sink
    // thread would park.
    std::chrono::microseconds max_block() const noexcept;
    // After the source ends: serve until the pipeline stops, then stop every
    // sink and serve their deliveries until all are confirmed or the
    // shutdown deadline passes.
    void finish();

private:
    bool idle() const noexcept;

    flow& flow_;
    std::vector<sink*> sinks_;
    std::vector<sink_context*> contexts_;
    sink_mask processed_ = 0;  // sinks that processed since the last serve()
};

}  // namespace sluice
