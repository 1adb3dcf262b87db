// Faults injected through the embedded broker's controls (rdkafka_mock.h):
// events keep flowing, everything is committed in the end, nothing is lost.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "clock.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline.hpp"
#include "seed_events.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr std::int16_t api_offset_commit = 8;  // Kafka protocol ApiKey

std::vector<record> seed_records(std::size_t n, std::uint64_t seed) {
    seed_generator gen(seed);
    seed_event ev;
    std::vector<record> out;
    for (std::size_t i = 0; i < n; ++i) {
        gen.next(ev, wall_ns());
        out.push_back({std::string(ev.topic), -1, 0, ev.key, ev.value});
    }
    return out;
}

bool committed_to_end(const std::string& b, const std::string& group) {
    const auto topics = settings::default_topics();
    const auto ends = end_offsets(b, topics);
    const auto committed = committed_offsets(b, group, topics);
    for (const auto& [tp, end] : ends)
        if (end > 0 && committed.at(tp) != end) return false;
    return true;
}

settings config_for(const std::string& b, const std::string& group, const std::string& dir) {
    return load_settings("", {"kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"" + group + "\"",
                              "stats.socket=\"" + dir + "/s.sock\"", "sinks.enrichment.output=\"none\"",
                              "sinks.notification.output=\"none\"", "sinks.analytics.output=\"none\"",
                              "commit.interval.ms=50", "kafka.properties.\"session.timeout.ms\"=6000"});
}

}  // namespace

// OffsetCommit fails for a while, with retriable and non-retriable errors:
// commits are retried until they succeed, nothing is processed twice.
TEST(Faults, OffsetCommitFailuresAreRetried) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    pipeline p(config_for(b, "commit-faults", dir), make_seed_sink);
    p.start();
    ASSERT_TRUE(wait_until([&] { return p.metrics().source.assigned_partitions.get() > 0; }, std::chrono::seconds(30)));
    rd_kafka_mock_push_request_errors(broker.cluster(), api_offset_commit, 6,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
    produce(b, seed_records(3000, 31));
    ASSERT_TRUE(wait_until([&] { return committed_to_end(b, "commit-faults"); }, std::chrono::seconds(60)));
    p.stop();
    EXPECT_GT(p.metrics().commit.commit_failures.get(), 0u) << "the injected errors were seen";
    EXPECT_EQ(p.metrics().source.consumed.get(), 3000u) << "no rebalance, no replay: each event once";
    EXPECT_EQ(p.metrics().sinks[2].processed.get(), 3000u);
}

// The (only) broker goes down mid-stream and comes back: the pipeline waits,
// resumes, and every event reaches its sinks; commits reach the end.
TEST(Faults, BrokerDownAndBackUp) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    produce(b, seed_records(2000, 41));
    pipeline p(config_for(b, "broker-down", dir), make_seed_sink);
    p.start();
    ASSERT_TRUE(wait_until([&] { return p.metrics().source.consumed.get() >= 2000; }, std::chrono::seconds(60)));
    ASSERT_EQ(rd_kafka_mock_broker_set_down(broker.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ASSERT_EQ(rd_kafka_mock_broker_set_up(broker.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    produce(b, seed_records(2000, 42));
    ASSERT_TRUE(wait_until([&] { return committed_to_end(b, "broker-down"); }, std::chrono::seconds(90)));
    p.stop();
    pipeline_metrics& m = p.metrics();
    EXPECT_GE(m.source.consumed.get(), 4000u) << "every event at least once";
    EXPECT_GE(m.sinks[2].processed.get(), 4000u);
    // Duplicates only for what was in flight since the last commit: here at
    // most the first batch (the group may have rebalanced while down).
    EXPECT_LE(m.source.consumed.get(), 6000u);
}
