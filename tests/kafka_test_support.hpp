// Helpers for tests against the embedded broker: produce, read back, offsets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "kafka/kafka_handles.hpp"
#include "seed_config.hpp"

namespace sluice::testing {

struct record {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key, value;
    bool null_value = false;
    std::map<std::string, std::string> headers;
};

// The sink placement a test run asks for with SLUICE_TEST_SINKS = threads or
// inline (tests/meson.build runs the pipeline suites once in each); unset,
// the default (auto). Any other value throws: a misspelt run must not pass
// as the placement it names.
// The placement word, or "" when unset.
std::string sink_placement_under_test();
// The override to append to a test's settings (pipeline.sinks="inline"), or
// none when unset.
std::vector<std::string> sink_placement_override();
// load_settings("", overrides) with sink_placement_override() applied last:
// what the parameterised suites build their pipelines from.
settings test_settings(std::vector<std::string> overrides);
// Whether a pipeline started here from s runs its sinks inline: auto
// resolved as the pipeline resolves it (usable CPUs against roles). For
// scenarios whose means differ by placement.
bool sinks_inline(const settings& s);

// n load-generator events (both envelope styles), each to its own topic.
std::vector<record> seed_records(std::size_t n, std::uint64_t seed);

// Produces and waits for every delivery; throws on failure.
void produce(const std::string& bootstrap, const std::vector<record>& records);

// Reads every partition of topic from the beginning to its current end.
std::vector<record> read_all(const std::string& bootstrap, const std::string& topic);

// (topic, partition) -> end offset (high watermark).
std::map<std::pair<std::string, int>, std::int64_t> end_offsets(const std::string& bootstrap,
                                                                 const std::vector<std::string>& topics);
// (topic, partition) -> committed offset of group (-1001 when none).
std::map<std::pair<std::string, int>, std::int64_t> committed_offsets(const std::string& bootstrap,
                                                                      const std::string& group,
                                                                      const std::vector<std::string>& topics);

// Polls pred every 50 ms until true or timeout; returns pred's last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
}

// Waits until group's committed offsets equal the end offsets of every
// non-empty partition of the default topics.
bool committed_to_end(const std::string& bootstrap, const std::string& group, std::chrono::milliseconds timeout);

std::vector<std::string> read_lines(const std::string& path);
// Sends one command to a stats socket and returns the answer up to its blank
// line ("connect failed" if nothing listens).
std::string ask_stats(const std::string& socket_path, const std::string& command);
// A new directory under /tmp, removed with everything in it when the test
// binary exits (kept if SLUICE_KEEP_TEST_FILES is set, to look into a failure).
std::string temp_dir();
// The items of a comma-separated list, empty ones left out ("a,,b" -> a, b).
std::vector<std::string> comma_list(const std::string& s);

}  // namespace sluice::testing
