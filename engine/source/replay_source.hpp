// The replay source: events from a file of captured payloads, one per line.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "dead_letter/dead_letter.hpp"
#include "pipeline/dispatcher.hpp"
#include "pipeline/flow.hpp"
#include "pipeline/routing.hpp"
#include "source/event_source.hpp"
#include "source/line_reader.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// Design: one partition, topic `replay` partition 0, whose offsets are the
// line numbers (the first line is offset 1), so everything downstream -
// decode, routing, sinks, dead letters, the commit watermark - is the code
// that serves Kafka. The file is read once, from the first line; the end
// offset becomes known at the end of the file. Lines are not keyed (the
// output of `kcat -C -f '%s\n'` has no keys) and have no timestamp, so only
// in-pipeline latency is recorded, not end-to-end.
class replay_source final : public event_source {
public:
    static constexpr const char* topic = "replay";

    // Opens the file (throws std::system_error naming it).
    replay_source(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types, const event_schema& schema,
                  const routing_table& routes, dead_letter_producer& dlq);

    // Source thread: dispatch every line, then wait for flow.stop_source and
    // drain what is in flight so the final commit covers it.
    void run() override;
    std::int64_t first_event_mono_ns() const noexcept override { return dispatch_.first_event_mono_ns(); }
    const std::vector<std::string>& unconfirmed() const noexcept override { return unconfirmed_; }

private:
    void read_all();

    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    line_reader reader_;
    dispatcher dispatch_;
    std::uint32_t partition_ = 0;
    std::vector<std::string> unconfirmed_;
};

}  // namespace sluice
