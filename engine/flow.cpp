// Construction of the shared pipeline structures.
#include "flow.hpp"

namespace sluice {

flow::flow(std::size_t slots, std::size_t sinks, const std::vector<thread_settings>& waits)
    : pool(slots),
      to_commit(slots * 2 + 1024),
      commit_waiter(waits.at(sinks).wait, waits.at(sinks).spin, std::chrono::milliseconds(5)),
      source_waiter(waits.at(sinks + 1).wait, waits.at(sinks + 1).spin, std::chrono::milliseconds(1)) {
    for (std::size_t i = 0; i < sinks; ++i) {
        // A ring never holds more indexes than there are slots: pushes cannot fail.
        sink_rings.push_back(std::make_unique<spsc_ring<std::uint32_t>>(slots));
        sink_waiters.push_back(std::make_unique<waiter>(waits[i].wait, waits[i].spin, std::chrono::milliseconds(100)));
    }
}

}  // namespace sluice
