// Open-loop producer: sends generated messages on a rate profile's schedule.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "kafka/kafka_handles.hpp"
#include "load/rate_profile.hpp"
#include "stats/histogram.hpp"

namespace sluice {

struct load_message {
    std::string_view topic;
    std::string_view key;
    std::string_view value;
};

struct load_result {
    std::uint64_t sent = 0, delivered = 0, failed = 0;
    std::int64_t start_wall_ns = 0;  // when event 0 was due
    double schedule_seconds = 0;  // the period the schedule offered `offered` events in
    double seconds = 0;           // the longer of that and start to the last send
    double drained_seconds = 0;   // start to the last delivery report
    double offered = 0;           // events the schedule offered
    histogram::snapshot_t behind;    // ns each event was sent after it was due
    histogram::snapshot_t delivery;  // ns from send to the broker's acknowledgement
};

// Design: run() on one thread (delivery reports are served on it too); stop
// may be set from any thread. Open loop, coordinated-omission correct:
// event i is due when the profile says, whatever earlier sends took; its
// Kafka timestamp and the timestamp next() puts in its envelope are that due
// time, so a generator that falls behind shows as latency, not as a lower
// rate that hides it.
class load_producer {
public:
    load_producer(const std::string& bootstrap, const std::map<std::string, std::string>& props);

    // next(i, due_wall_ns) returns the i-th message (valid until the next call).
    using next_fn = std::function<load_message(std::uint64_t, std::int64_t)>;
    load_result run(rate_profile profile, std::uint64_t count, const std::atomic<bool>& stop, const next_fn& next,
                    const std::function<void(const load_result&)>& progress = {});
    // A constant rate (0 = as fast as possible) for duration_s (0 = no limit).
    load_result run(double rate, std::uint64_t count, double duration_s, const std::atomic<bool>& stop,
                    const next_fn& next, const std::function<void(const load_result&)>& progress = {});

private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
    kafka_handle rk_;
    load_result result_;
    std::unique_ptr<histogram> behind_, delivery_;
};

}  // namespace sluice
