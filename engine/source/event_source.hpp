// Where the pipeline's events come from: a Kafka consumer group or a replay file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

// Design: run() is the source thread. It reads and dispatches until
// flow.stop_source, then drains what it dispatched so the final commit covers
// it. Other threads only call first_event_mono_ns().
class event_source {
public:
    virtual ~event_source() = default;
    virtual void run() = 0;
    // Monotonic ns of the first event dispatched (0 before).
    virtual std::int64_t first_event_mono_ns() const noexcept = 0;
    // After run(): one line per partition whose events the final commit did
    // not cover (events left exposed to replay); empty when it covered all.
    virtual const std::vector<std::string>& unconfirmed() const noexcept = 0;
};

}  // namespace sluice
