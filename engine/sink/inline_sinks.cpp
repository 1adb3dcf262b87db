// The sinks' loop folded into the source thread.
#include "sink/inline_sinks.hpp"

#include "base/clock.hpp"
#include "sink/sink_runner.hpp"

namespace sluice {

namespace {
// As a sink thread parks: briefly while deliveries are outstanding, else
// long enough for timers (window closes, retries) to be on time.
constexpr std::chrono::microseconds outstanding_block{1000};
constexpr std::chrono::microseconds idle_block{100'000};
}  // namespace

inline_sinks::inline_sinks(flow& f, std::vector<sink*> sinks, std::vector<sink_context*> contexts)
    : flow_(f), sinks_(std::move(sinks)), contexts_(std::move(contexts)) {
    for (sink_context* c : contexts_) c->releases.stamp_later();
}

std::int64_t inline_sinks::process(event_slot& slot, std::uint32_t slot_index, sink_mask mask, std::int64_t start_ns) {
    processed_ |= mask;
    for (std::size_t s = 0; s < sinks_.size(); ++s)
        if (mask & (1u << s)) start_ns = process_in_sink(*sinks_[s], *contexts_[s], slot, slot_index, start_ns);
    return start_ns;
}

bool inline_sinks::serve() {
    bool worked = processed_ != 0;
    const std::int64_t now = mono_ns();
    for (std::size_t s = 0; s < sinks_.size(); ++s) {
        contexts_[s]->metrics.loops.add();
        if (processed_ & (1u << s)) sinks_[s]->end_of_batch();
        worked |= sinks_[s]->poll(now);
        contexts_[s]->releases.flush();
    }
    processed_ = 0;
    return worked;
}

bool inline_sinks::idle() const noexcept {
    for (const sink* s : sinks_)
        if (!s->idle()) return false;
    return true;
}

std::chrono::microseconds inline_sinks::max_block() const noexcept {
    return idle() ? idle_block : outstanding_block;
}

void inline_sinks::finish() {
    // The source may end before the pipeline stops (a replay file that cannot
    // be read): deliveries and timers are still served until then.
    while (!flow_.stop_source.load(std::memory_order_acquire)) {
        if (!serve()) flow_.source_waiter.idle([&] { return flow_.stop_source.load(std::memory_order_relaxed); }, max_block());
    }
    for (sink* s : sinks_) {
        s->stop();
        s->end_of_batch();
    }
    for (;;) {
        const bool worked = serve();
        if (idle()) return;
        if (mono_ns() >= flow_.shutdown_deadline_ns.load(std::memory_order_acquire)) {
            for (const sink* s : sinks_)
                if (!s->idle()) give_up_deliveries(*s);
            return;
        }
        if (!worked) flow_.source_waiter.idle([] { return false; }, outstanding_block);
    }
}

}  // namespace sluice
