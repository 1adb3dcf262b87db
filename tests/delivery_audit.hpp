// Checks at-least-once delivery from the outside: which produced events
// reached which sink, how many times, and whether a committed offset ever ran
// ahead of what the sinks had finished.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kafka/embedded_broker.hpp"
#include "pipeline/pipeline.hpp"
#include "seed_schema.hpp"

namespace sluice::testing {

struct coord {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    auto operator<=>(const coord&) const = default;
};

struct produced_event {
    coord at;
    std::string type;
    std::string id;       // event_id, or "" for task-style envelopes
    std::string user_id;  // userId of task-style envelopes (user.created), or ""
};

// Every event now in the input topics, in offset order per partition.
std::vector<produced_event> read_produced(const std::string& bootstrap);

// Sink name -> the events it must see under the default routing table.
std::vector<coord> routed_to(const std::vector<produced_event>& events, const std::string& sink);

// How many times each event was seen (by a sink, or in an output).
using sightings = std::map<coord, int>;

using offsets = std::map<std::pair<std::string, int>, std::int64_t>;

struct audit {
    std::size_t expected = 0, missing = 0, duplicates = 0;
    // Duplicates of events below `floor`: processed again although a commit
    // had covered them. At-least-once allows duplicates only above the last
    // commit before the replay.
    std::size_t duplicates_below_floor = 0;
    std::string first_missing;  // for the failure message
};
audit check(const std::vector<coord>& expected, const sightings& seen, const offsets& floor = {});

// Thread-safe record of what each sink's process() was handed.
class sink_log {
public:
    void saw(const std::string& sink, coord c) {
        std::lock_guard lock(mu_);
        ++seen_[sink][std::move(c)];
    }
    sightings of(const std::string& sink) const {
        std::lock_guard lock(mu_);
        const auto it = seen_.find(sink);
        return it == seen_.end() ? sightings{} : it->second;
    }

private:
    mutable std::mutex mu_;
    std::map<std::string, sightings> seen_;
};

// Called on a sink's thread before each event it is handed (may block: a stalled sink).
using before_process_hook = std::function<void(std::string_view sink)>;

// A sink factory that builds the real sinks and logs every event they are handed.
sink_factory logging_seed_sinks(std::shared_ptr<sink_log> log, before_process_hook hook = {});

// One in-process pipeline on bootstrap in group_id with logging sinks (outputs
// none), its stats socket at dir/s.sock, committing every 50 ms; extra
// settings ("key=value") are applied last.
struct logged_pipeline {
    std::string dir;
    std::string b, group;
    std::shared_ptr<sink_log> log = std::make_shared<sink_log>();
    std::unique_ptr<pipeline> p;

    logged_pipeline(std::string bootstrap, std::string group_id, std::vector<std::string> extra = {},
                    before_process_hook hook = {});
    // Waits until the pipeline is assigned at least one partition.
    bool assigned(std::chrono::milliseconds timeout);
};

// Holds events back at a sink's output, which is where inline sinks can be
// held: they run on the source thread, so a sink blocking in process() would
// stop the consumer itself. The enrichment sink writes to the topic
// held.out, led by broker 2 of a cluster of two and down while held; the
// inputs, the dead letters and the group's coordinator stay on broker 1.
// Held events wait for their deliveries, the unconfirmed bound fills, and
// the source waits and pauses as it does when sink threads fall behind.
class held_output {
public:
    static constexpr int brokers = 2;
    // The cluster's topics: inputs plus held.out.
    static std::map<std::string, int> topics(std::map<std::string, int> inputs);
    // Places the leaders and group's coordinator as above (throws if the broker refuses).
    held_output(embedded_broker& broker, const std::string& group);
    // Pipeline settings: enrichment writes to held.out, and these event types
    // are routed to it alone (none: the routing stays).
    std::vector<std::string> settings(const std::vector<std::string>& types = {}) const;
    // Broker 2 down (held) or up (throws if the broker refuses).
    void hold(bool held);
    // Broker 2 answers every request this late (0: at once).
    void slow(int rtt_ms);

private:
    embedded_broker& broker_;
};

// Source coordinates of the records in an enrichment output file (JSON lines).
sightings enriched_sources(const std::vector<std::string>& lines);

// Committed offsets of group must never run ahead of the sinks: every event
// below a committed offset that routes to sink has been seen (seen_now is
// called after the committed offsets are read). "" or the first violation.
std::string committed_prefix_seen(const std::string& bootstrap, const std::string& group,
                                  const std::vector<produced_event>& events, const std::string& sink,
                                  const std::function<sightings()>& seen_now);

}  // namespace sluice::testing
