// Analytics: per-type counts, top-K viewed entities and unique users over tumbling windows.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "seed_fields.hpp"
#include "sink/delivery_tracker.hpp"
#include "sink/sink.hpp"
#include "window_aggregate.hpp"

namespace sluice {

// The keys this sink reads (sinks.analytics.*), for the seed domain.
void register_analytics_keys(config_registry& keys);

// Design: process/poll on the thread that runs the sink; live_json from any thread
// reads a snapshot that thread publishes once a second under a
// mutex (off the per-event path). Windows follow event time: an event past
// the open window closes it and emits its rollup; a window also closes when
// no event arrived for one window length of wall time past its end. Events
// older than the open window count as late_events in it.
//
// Rollups are derived state: an event is acked once counted, so a crash
// loses the open window's counts (a replay from earlier offsets rebuilds them).
// A graceful stop emits the open window as a partial rollup.
class analytics_sink final : public sink {
public:
    analytics_sink(const settings& cfg, const std::string& bootstrap, flow& f, sink_context& ctx);

    std::string_view name() const noexcept override { return "analytics"; }
    void process(event_slot& slot, std::uint32_t slot_index) override;
    void prefetch(const event_slot& slot) override;
    void end_of_batch() override { tracker_.flush(); }
    bool poll(std::int64_t now_ns) override;
    bool idle() const noexcept override { return tracker_.idle(); }
    std::string live_json() const override;
    // Emits the open window (marked "closed_by":"shutdown").
    void stop() override { close_window("shutdown"); }
    // Takes sinks.analytics.window.ms for the next window.
    void reload(const settings& next) override;


private:
    // Which top-K an event type's entity counts in.
    enum class viewed : std::uint8_t { nothing, article, project };
    static viewed viewed_of(std::string_view type) noexcept;

    void close_window(const char* reason);
    void publish_live();

    sink_context& ctx_;
    // window.ms: written by the control thread on a reload, taken when a window opens.
    std::atomic<std::uint64_t> window_ms_;
    type_classes<viewed> views_;
    delivery_tracker tracker_;
    window_aggregate window_;
    std::int64_t window_ns_;  // of the open window
    std::size_t top_k_;
    bool open_ = false;
    std::int64_t last_event_wall_ns_ = 0;  // monotonic: the poll after the last event
    std::uint32_t since_poll_ = 0;         // events processed since the last poll
    std::int64_t last_publish_ns_ = 0;
    std::uint64_t rollups_ = 0;
    mutable std::mutex live_mutex_;
    std::string live_, last_rollup_;
    std::string live_next_;  // the sink's thread's: the next snapshot, written outside the mutex
};

}  // namespace sluice
