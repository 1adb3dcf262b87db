// Open-loop producer: sends generated messages at a constant rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "kafka_handles.hpp"

namespace sluice {

struct load_message {
    std::string_view topic;
    std::string_view key;
    std::string_view value;
};

struct load_result {
    std::uint64_t sent = 0, delivered = 0, failed = 0;
    double seconds = 0;
};

// Design: run() on one thread; stop may be set from any thread. Open loop:
// message i is due at start + i/rate regardless of how long earlier sends
// took, so a slow consumer does not slow the offered load (rate 0 = as fast
// as possible).
class load_producer {
public:
    load_producer(const std::string& bootstrap, const std::map<std::string, std::string>& props);

    // next(i, wall_ns) returns the i-th message (valid until the next call).
    load_result run(double rate, std::uint64_t count, double duration_s, const std::atomic<bool>& stop,
                    const std::function<load_message(std::uint64_t, std::int64_t)>& next,
                    const std::function<void(const load_result&)>& progress = {});

private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
    kafka_handle rk_;
    load_result result_;
};

}  // namespace sluice
