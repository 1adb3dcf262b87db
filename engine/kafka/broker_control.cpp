// Parses fault commands and applies them through librdkafka's mock API.
#include "kafka/broker_control.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <strings.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kafka/embedded_broker.hpp"

namespace sluice {
namespace {

struct bad_command : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The Kafka protocol requests a fault can target (ApiKey numbers from the protocol).
constexpr std::array<std::pair<const char*, std::int16_t>, 13> api_keys{{
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ApiVersions", 18},
}};

constexpr std::int64_t max_fail_count = 100000;  // bounds the mock's error stack
constexpr std::int64_t max_rtt_ms = 600000;

std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

std::int64_t integer(std::string_view word, std::int64_t lo, std::int64_t hi, const char* what) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size() || v < lo || v > hi)
        throw bad_command(std::string(what) + ": expected an integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                          ", got '" + std::string(word) + "'");
    return v;
}

std::int16_t api_key(std::string_view word) {
    for (const auto& [name, key] : api_keys)
        if (word.size() == std::char_traits<char>::length(name) && strncasecmp(word.data(), name, word.size()) == 0)
            return key;
    std::string known;
    for (const auto& [name, key] : api_keys) known += std::string(known.empty() ? "" : ", ") + name;
    throw bad_command("unknown request type '" + std::string(word) + "' (one of " + known + ")");
}

const char* api_name(std::int16_t key) {
    for (const auto& [name, k] : api_keys)
        if (k == key) return name;
    return "?";
}

// A Kafka error by its librdkafka name (REQUEST_TIMED_OUT, NOT_COORDINATOR,
// _TRANSPORT for a disconnect) or its number.
rd_kafka_resp_err_t error_code(std::string_view word) {
    const rd_kafka_err_desc* descs = nullptr;
    std::size_t n = 0;
    rd_kafka_get_err_descs(&descs, &n);
    std::int64_t number = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), number);
    const bool numeric = ec == std::errc() && end == word.data() + word.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (!descs[i].name || descs[i].code == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        if (numeric ? descs[i].code == number
                    : word.size() == std::char_traits<char>::length(descs[i].name) &&
                          strncasecmp(word.data(), descs[i].name, word.size()) == 0)
            return descs[i].code;
    }
    throw bad_command("unknown Kafka error '" + std::string(word) + "' (a librdkafka error name such as "
                      "REQUEST_TIMED_OUT, NOT_COORDINATOR, _TRANSPORT, or its number)");
}

// A broker id (1..brokers) or "all" (-1).
std::int32_t broker_id(std::string_view word, int brokers, bool all_allowed) {
    if (all_allowed && word == "all") return -1;
    return static_cast<std::int32_t>(integer(word, 1, brokers, all_allowed ? "broker (or all)" : "broker"));
}

std::string broker_name(std::int32_t id) {
    return id == -1 ? "all" : std::to_string(id);
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
    if (err) throw bad_command(what + ": " + rd_kafka_err2name(err) + " (" + rd_kafka_err2str(err) + ")");
}

void arity(const std::vector<std::string_view>& w, std::size_t lo, std::size_t hi, const char* usage) {
    if (w.size() < lo || w.size() > hi) throw bad_command(std::string("usage: ") + usage);
}

}  // namespace

const char* broker_control::help() noexcept {
    return "fail API COUNT [ERROR]   the next COUNT requests of API (Produce, Fetch, OffsetCommit, JoinGroup, ...) "
           "fail with ERROR (default REQUEST_TIMED_OUT; _TRANSPORT disconnects)\n"
           "fail-commits COUNT [ERROR]   same as: fail OffsetCommit COUNT [ERROR]\n"
           "clear API                drop the failures still queued for API\n"
           "rtt BROKER|all MS        delay every response of the broker(s) by MS (0: none)\n"
           "leader TOPIC PARTITION BROKER|none   move the partition's leader (none: leaderless)\n"
           "coordinator GROUP BROKER make BROKER the coordinator of consumer group GROUP\n"
           "down BROKER|all          disconnect the broker(s) and refuse connections (leaders stay)\n"
           "up BROKER|all            accept connections again\n"
           "help                     this list\n";
}

std::string broker_control::apply(std::string_view line) noexcept {
    try {
        return apply_words(line);
    } catch (const bad_command& e) {
        return std::string("error: ") + e.what();
    } catch (const std::exception& e) {
        return std::string("error: ") + e.what();
    } catch (...) {
        return "error: unexpected failure";
    }
}

std::string broker_control::apply_words(std::string_view line) {
    const auto w = words_of(line);
    if (w.empty() || w[0].front() == '#') return "";
    rd_kafka_mock_cluster_t* mc = broker_.cluster();
    const int brokers = broker_.brokers();
    const std::string_view cmd = w[0];

    if (cmd == "help") {
        arity(w, 1, 1, "help");
        std::string out = "ok: ";
        for (const char* p = help(); *p; ++p) out += *p == '\n' ? std::string(" |") : std::string(1, *p);
        out.resize(out.size() - 2);  // the last " |"
        return out;
    }
    if (cmd == "fail" || cmd == "fail-commits") {
        const bool commits = cmd == "fail-commits";
        const std::size_t first = commits ? 1 : 2;
        arity(w, first + 1, first + 2, commits ? "fail-commits COUNT [ERROR]" : "fail API COUNT [ERROR]");
        const std::int16_t key = commits ? std::int16_t{8} : api_key(w[1]);
        const auto count = static_cast<std::size_t>(integer(w[first], 1, max_fail_count, "COUNT"));
        const rd_kafka_resp_err_t err =
            w.size() > first + 1 ? error_code(w[first + 1]) : RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
        const std::vector<rd_kafka_resp_err_t> errs(count, err);
        rd_kafka_mock_push_request_errors_array(mc, key, count, errs.data());
        return "ok: fail " + std::string(api_name(key)) + " " + std::to_string(count) + " " + rd_kafka_err2name(err);
    }
    if (cmd == "clear") {
        arity(w, 2, 2, "clear API");
        const std::int16_t key = api_key(w[1]);
        rd_kafka_mock_clear_request_errors(mc, key);
        return "ok: clear " + std::string(api_name(key));
    }
    if (cmd == "rtt") {
        arity(w, 3, 3, "rtt BROKER|all MS");
        const std::int32_t id = broker_id(w[1], brokers, true);
        const auto ms = static_cast<int>(integer(w[2], 0, max_rtt_ms, "MS"));
        check(rd_kafka_mock_broker_set_rtt(mc, id, ms), "rtt");
        return "ok: rtt " + broker_name(id) + " " + std::to_string(ms);
    }
    if (cmd == "leader") {
        arity(w, 4, 4, "leader TOPIC PARTITION BROKER|none");
        const std::string topic(w[1]);
        // The mock creates a topic it does not know: a typo must not.
        const auto t = broker_.topics().find(topic);
        if (t == broker_.topics().end()) throw bad_command("unknown topic '" + topic + "'");
        const auto partition = static_cast<std::int32_t>(integer(w[2], 0, t->second - 1, "PARTITION"));
        const std::int32_t id = w[3] == "none" ? -1 : broker_id(w[3], brokers, false);
        check(rd_kafka_mock_partition_set_leader(mc, topic.c_str(), partition, id), "leader");
        return "ok: leader " + topic + " " + std::to_string(partition) + " " + (id == -1 ? "none" : std::to_string(id));
    }
    if (cmd == "coordinator") {
        arity(w, 3, 3, "coordinator GROUP BROKER");
        const std::string group(w[1]);
        const std::int32_t id = broker_id(w[2], brokers, false);
        check(rd_kafka_mock_coordinator_set(mc, "group", group.c_str(), id), "coordinator");
        return "ok: coordinator " + group + " " + std::to_string(id);
    }
    if (cmd == "down" || cmd == "up") {
        arity(w, 2, 2, cmd == "down" ? "down BROKER|all" : "up BROKER|all");
        const std::int32_t id = broker_id(w[1], brokers, true);
        check(cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id),
              std::string(cmd));
        return "ok: " + std::string(cmd) + " " + broker_name(id);
    }
    throw bad_command("unknown command '" + std::string(cmd) + "' (help lists the commands)");
}

}  // namespace sluice
