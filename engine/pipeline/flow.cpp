// Construction of the shared pipeline structures.
#include "pipeline/flow.hpp"

#include <algorithm>

namespace sluice {

flow::flow(std::size_t slots, std::size_t sinks, const std::vector<thread_settings>& waits, std::size_t in_flight_events)
    : pool(slots),
      in_flight(std::max(in_flight_events, slots)),
      released(sinks + 1),
      to_commit(slots * 2 + 1024),
      commit_waiter(waits.at(sinks).wait, waits.at(sinks).spin, std::chrono::milliseconds(5)),
      source_waiter(waits.at(sinks + 1).wait, waits.at(sinks + 1).spin, std::chrono::milliseconds(1)) {
    for (in_flight_event& e : in_flight) e.reserve(512);
    for (std::size_t i = 0; i < sinks; ++i) {
        // A ring never holds more indexes than there are slots: pushes cannot fail.
        sink_rings.push_back(std::make_unique<spsc_ring<std::uint32_t>>(slots));
        sink_waiters.push_back(std::make_unique<waiter>(waits[i].wait, waits[i].spin, std::chrono::milliseconds(100)));
    }
}

std::uint64_t flow::released_events() const noexcept {
    std::uint64_t done = 0;
    for (const release_totals& r : released) done += r.events.load(std::memory_order_acquire);
    return done;
}

std::uint64_t flow::in_flight_events() const noexcept {
    const std::uint64_t done = released_events();
    const std::uint64_t taken_events = taken.events.load(std::memory_order_acquire);
    return taken_events > done ? taken_events - done : 0;
}

std::uint64_t flow::in_flight_bytes() const noexcept {
    // Releases first, then what was taken: a release read is never of an
    // event taken after the read of taken (an overestimate, never under).
    std::int64_t total = 0;
    for (const release_totals& r : released)
        total += r.output_bytes.load(std::memory_order_acquire) - static_cast<std::int64_t>(r.bytes.load(std::memory_order_acquire));
    total += static_cast<std::int64_t>(taken.bytes.load(std::memory_order_acquire));
    return total > 0 ? static_cast<std::uint64_t>(total) : 0;
}

}  // namespace sluice
