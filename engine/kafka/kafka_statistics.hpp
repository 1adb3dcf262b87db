// librdkafka's own statistics (statistics.interval.ms) as sluice_kafka_* Prometheus metrics.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sluice {

// Design: librdkafka calls the stats callback on the thread that serves a
// handle's queue (for the group consumer, the source thread), so the
// callback only copies the JSON into its client's slot under a mutex (the
// string keeps its capacity: no allocation once grown); the stats thread
// copies the slots out and parses them when /metrics is scraped.
class kafka_statistics {
public:
    static kafka_statistics& instance();

    // Control thread, when a handle is created: its slot, sized so that the
    // callback does not allocate on the thread that serves it.
    void prepare(const char* client);
    // Any thread (librdkafka's stats callback).
    void store(const char* client, const char* json, std::size_t len);
    // Stats thread: the metrics of every client's latest statistics.
    void append_prometheus(std::string& out) const;

private:
    static constexpr std::size_t initial_capacity = 256 * 1024;
    mutable std::mutex mu_;
    std::map<std::string, std::string, std::less<>> latest_;  // client name -> JSON
};

// Routes the statistics of handles built from conf to kafka_statistics.
void collect_kafka_statistics(rd_kafka_conf_t* conf) noexcept;

}  // namespace sluice
