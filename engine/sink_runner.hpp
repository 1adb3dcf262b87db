// The thread loop of one sink: pop a batch of slots, process, flush, poll, park.
#pragma once

#include "flow.hpp"
#include "sink.hpp"

namespace sluice {

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
