// Faults injected through the embedded broker's controls (rdkafka_mock.h).
// In every scenario events flow during the fault; afterwards every produced
// event reached every sink it routes to, committed offsets reach the end
// offsets, duplicates are only of events above the last commit before the
// fault, and the pipeline still answers on its stats socket.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <optional>

#include "delivery_audit.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

// Kafka protocol ApiKeys.
constexpr std::int16_t api_produce = 0;
constexpr std::int16_t api_offset_commit = 8;

const std::vector<std::string> sink_names = {"enrichment", "notification", "analytics"};

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// The embedded cluster, a base of fault_run so that it starts before the
// pipeline and stops after it. With a held output (see held_output) it has
// the brokers and topics that needs, its leaders placed.
struct embedded_cluster {
    embedded_broker broker;
    std::optional<held_output> held;
    embedded_cluster(int brokers, const std::string& group, bool hold_output)
        : broker(hold_output ? held_output::brokers : brokers,
                 hold_output ? held_output::topics(load_settings("", {}).broker_topics())
                             : load_settings("", {}).broker_topics()) {
        if (hold_output) held.emplace(broker, group);
    }
    // extra plus the held output's settings.
    std::vector<std::string> with_held(std::vector<std::string> extra) const {
        if (held)
            for (std::string& s : held->settings()) extra.push_back(std::move(s));
        return extra;
    }
};

// One pipeline with logging sinks on an embedded cluster of `brokers`.
struct fault_run : embedded_cluster, logged_pipeline {
    std::uint64_t seed = 1;
    offsets floor;  // committed offsets just before the fault

    fault_run(int brokers, std::string group_id, std::vector<std::string> extra = {}, before_process_hook hook = {},
              bool hold_output = false)
        : embedded_cluster(brokers, group_id, hold_output),
          logged_pipeline(broker.bootstraps(), std::move(group_id), with_held(std::move(extra)), std::move(hook)) {}

    bool assigned() { return logged_pipeline::assigned(30s); }
    void produce_events(std::size_t n) { produce(b, seed_records(n, seed++)); }
    bool committed_to_end() { return sluice::testing::committed_to_end(b, group, 90s); }
    void mark_floor() { floor = committed_offsets(b, group, seed_topics()); }

    // The checks every scenario ends with.
    void expect_everything_delivered(std::size_t produced) {
        ASSERT_TRUE(committed_to_end()) << "committed offsets never reached the end offsets";
        EXPECT_NE(ask_stats(dir + "/s.sock", "stats").find("\"consumed\":"), std::string::npos)
            << "the stats socket still answers";
        p->stop();
        const std::vector<produced_event> events = read_produced(b);
        ASSERT_EQ(events.size(), produced);
        for (const std::string& sink : sink_names) {
            const audit a = check(routed_to(events, sink), log->of(sink), floor);
            EXPECT_GT(a.expected, 0u) << sink;
            EXPECT_EQ(a.missing, 0u) << sink << " never saw " << a.first_missing;
            EXPECT_EQ(a.duplicates_below_floor, 0u) << sink << " processed committed events again";
        }
    }
    std::size_t duplicates(const std::string& sink) {
        return check(routed_to(read_produced(b), sink), log->of(sink)).duplicates;
    }
};

}  // namespace

// OffsetCommit fails for a while, with retriable and non-retriable errors:
// commits are retried until they succeed, nothing is processed twice.
TEST(Faults, OffsetCommitFailuresAreRetried) {
    fault_run run(1, "commit-faults");
    ASSERT_TRUE(run.assigned());
    run.mark_floor();
    rd_kafka_mock_push_request_errors(run.broker.cluster(), api_offset_commit, 6,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
    run.produce_events(3000);
    run.expect_everything_delivered(3000);
    EXPECT_GT(run.p->metrics().commit.commit_failures.get(), 0u) << "the injected errors were seen";
    EXPECT_EQ(run.p->metrics().source.consumed.get(), 3000u) << "no rebalance, no replay: each event once";
    EXPECT_EQ(run.duplicates("analytics"), 0u);
}

// The (only) broker goes down mid-stream and comes back: the pipeline waits,
// resumes, and every event reaches its sinks; commits reach the end.
TEST(Faults, BrokerDownAndBackUp) {
    fault_run run(1, "broker-down");
    ASSERT_TRUE(run.assigned());
    run.produce_events(2000);
    ASSERT_TRUE(wait_until([&] { return run.p->metrics().source.consumed.get() >= 2000; }, 60s));
    ASSERT_TRUE(run.committed_to_end());
    run.mark_floor();
    ASSERT_EQ(rd_kafka_mock_broker_set_down(run.broker.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::this_thread::sleep_for(2s);
    ASSERT_EQ(rd_kafka_mock_broker_set_up(run.broker.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    run.produce_events(2000);
    run.expect_everything_delivered(4000);
}

// The group coordinator moves to another broker and then to a third while
// events flow: commits follow it.
TEST(Faults, CoordinatorMoves) {
    fault_run run(3, "coordinator-moves");
    ASSERT_TRUE(run.assigned());
    run.produce_events(1500);
    ASSERT_TRUE(run.committed_to_end());
    run.mark_floor();
    for (int to : {2, 3}) {
        ASSERT_EQ(rd_kafka_mock_coordinator_set(run.broker.cluster(), "group", "coordinator-moves", to),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
        run.produce_events(1500);
        std::this_thread::sleep_for(500ms);
    }
    run.expect_everything_delivered(4500);
    EXPECT_GT(run.p->metrics().commit.commits.get(), 2u);
}

// Every partition's leader moves to another broker mid-stream: fetching
// follows the leaders.
TEST(Faults, PartitionLeadersMove) {
    fault_run run(3, "leader-moves");
    ASSERT_TRUE(run.assigned());
    run.produce_events(1500);
    ASSERT_TRUE(run.committed_to_end());
    run.mark_floor();
    const auto topics = load_settings("", {}).broker_topics();
    for (int round = 0; round < 2; ++round) {
        for (const auto& [topic, partitions] : topics)
            for (int part = 0; part < partitions; ++part)
                ASSERT_EQ(rd_kafka_mock_partition_set_leader(run.broker.cluster(), topic.c_str(), part,
                                                             1 + (part + round + 1) % 3),
                          RD_KAFKA_RESP_ERR_NO_ERROR);
        run.produce_events(1500);
        std::this_thread::sleep_for(500ms);
    }
    run.expect_everything_delivered(4500);
    EXPECT_EQ(run.duplicates("analytics"), 0u) << "a leader move is not a rebalance: nothing replayed";
}

// One of three brokers answers every request 400 ms late for a while.
TEST(Faults, HighRoundTripTimeOnOneBroker) {
    fault_run run(3, "slow-broker");
    ASSERT_TRUE(run.assigned());
    run.mark_floor();
    ASSERT_EQ(rd_kafka_mock_broker_set_rtt(run.broker.cluster(), 2, 400), RD_KAFKA_RESP_ERR_NO_ERROR);
    run.produce_events(3000);
    std::this_thread::sleep_for(3s);
    ASSERT_EQ(rd_kafka_mock_broker_set_rtt(run.broker.cluster(), 2, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    run.produce_events(1000);
    run.expect_everything_delivered(4000);
    EXPECT_EQ(run.duplicates("analytics"), 0u) << "slowness is not a rebalance: nothing replayed";
}

// Produce requests (outputs and dead letters alike) fail for a while with
// retriable and permanent errors. Every enrichment event ends up in the
// output topic or, after its retries, in the dead-letter topic; and at no
// moment is an offset committed whose event was not yet delivered somewhere.
TEST(Faults, OutputAndDeadLetterProduceFailures) {
    // The enrichment sink holds its first event until the errors are in
    // place, so its records meet them however fast it would have written.
    std::atomic<bool> held{true};
    fault_run run(1, "produce-faults",
                  {"sinks.enrichment.output=\"kafka:enriched.events\"", "sinks.retry.max.attempts=2",
                   "sinks.retry.backoff.ms=20", "sinks.retry.backoff.max.ms=100"},
                  [&](std::string_view sink) {
                      while (sink == "enrichment" && held.load()) std::this_thread::sleep_for(5ms);
                  });
    struct release_on_exit {
        std::atomic<bool>& h;
        ~release_on_exit() { h = false; }  // before the run stops, should an assertion end the test early
    } release{held};
    ASSERT_TRUE(run.assigned());
    run.produce_events(2000);  // before the fault: its own produce must succeed
    std::vector<rd_kafka_resp_err_t> errors;
    for (int i = 0; i < 12; ++i) {
        errors.push_back(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);  // retried inside librdkafka
        errors.push_back(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);  // fails the delivery
    }
    rd_kafka_mock_push_request_errors_array(run.broker.cluster(), api_produce, errors.size(), errors.data());
    held = false;

    // Where an enrichment event was delivered: its output record or its dead letter.
    const std::vector<produced_event> events = read_produced(run.b);
    auto delivered = [&] {
        sightings seen = enriched_sources([&] {
            std::vector<std::string> values;
            for (const record& r : read_all(run.b, "enriched.events")) values.push_back(r.value);
            return values;
        }());
        for (const std::string& topic : seed_topics())
            for (const record& r : read_all(run.b, topic + ".dlq"))
                if (r.headers.count("sluice.source.offset"))
                    ++seen[{r.headers.at("sluice.source.topic"), std::stoi(r.headers.at("sluice.source.partition")),
                            std::stoll(r.headers.at("sluice.source.offset"))}];
        return seen;
    };
    for (int i = 0; i < 6; ++i) {
        const std::string violation = committed_prefix_seen(run.b, run.group, events, "enrichment", delivered);
        EXPECT_EQ(violation, "");
        std::this_thread::sleep_for(300ms);
    }
    run.expect_everything_delivered(2000);
    const audit a = check(routed_to(events, "enrichment"), delivered());
    EXPECT_EQ(a.missing, 0u) << a.first_missing << " is neither in enriched.events nor dead-lettered";
    pipeline_metrics& m = run.p->metrics();
    EXPECT_GT(m.sinks[0].failed.get(), 0u) << "the injected errors reached the sink";
}

// A sink stalls for longer than max.poll.interval.ms while events keep
// arriving: the source pauses its partitions (and keeps polling, so it stays
// in the group), memory stays bounded; once the sink recovers everything
// flows, each event once. Sink threads: the analytics sink stalls in
// process(), its ring and the slot pool fill. Inline sinks run on the source
// thread, where a stall in process() would stop the consumer itself: there
// the enrichment sink's output stalls (its broker down, see held_output) and
// the unconfirmed events fill their bound.
TEST(Faults, StalledSinkPausesStaysInGroupAndRecovers) {
    const std::size_t rss_at_start = resident_bytes();  // what earlier tests of this process left
    const bool hold_output = sinks_inline(test_settings({}));
    const std::string stalled_sink = hold_output ? "enrichment" : "analytics";
    std::atomic<bool> stalled{false};
    fault_run run(1, "stalled-sink", {"kafka.properties.\"max.poll.interval.ms\"=6000", "pipeline.ring.size=1024"},
                  [&](std::string_view sink) {
                      while (!hold_output && sink == "analytics" && stalled.load()) std::this_thread::sleep_for(5ms);
                  },
                  hold_output);
    auto stall = [&](bool on) {
        stalled.store(on);
        if (run.held) run.held->hold(on);
    };
    struct recover_on_exit {
        std::function<void(bool)> stall;
        ~recover_on_exit() { stall(false); }  // before the run stops, should an assertion end the test early
    } recover{stall};
    ASSERT_TRUE(run.assigned());
    run.produce_events(2000);
    ASSERT_TRUE(run.committed_to_end());
    pipeline_metrics& m = run.p->metrics();
    const std::uint64_t rebalances = m.source.rebalances.get();
    const std::size_t sink_index = hold_output ? 0 : 2;
    ASSERT_EQ(m.sink_names[sink_index], stalled_sink);

    stall(true);
    run.produce_events(60000);
    const std::size_t rss_before = resident_bytes();  // the broker holds the 60000 events by now
    std::size_t rss_max = rss_before;
    const auto stall_end = std::chrono::steady_clock::now() + 9s;  // > max.poll.interval.ms
    while (std::chrono::steady_clock::now() < stall_end) {
        rss_max = std::max(rss_max, resident_bytes());
        std::this_thread::sleep_for(100ms);
    }
    std::printf("%s stalled 9 s: %llu pauses, RSS %zu MiB at the start, %zu MiB -> max %zu MiB\n",
                stalled_sink.c_str(), static_cast<unsigned long long>(m.source.pauses.get()), rss_at_start >> 20,
                rss_before >> 20, rss_max >> 20);
    EXPECT_GT(m.source.pauses.get(), 0u) << "the source paused its partitions";
    EXPECT_LE(m.source.consumed.get(), 2000u + 60000u);
    const std::size_t routed = routed_to(read_produced(run.b), stalled_sink).size();
    EXPECT_LT(m.sinks[sink_index].processed.get(), routed) << "the stalled sink did not finish everything";
    EXPECT_EQ(m.source.rebalances.get(), rebalances) << "no rebalance: the consumer stayed in its group";
    // Measured from this test's start: the process also holds the heap that
    // earlier tests left, which is not this pipeline's. The growth while
    // stalled stays within the consumer's prefetch limit
    // (queued.max.messages.kbytes); the whole run (broker log of 62000
    // events, pipeline, stalled backlog) within a fixed bound.
    EXPECT_LT(rss_max - rss_before, 64u << 20) << "memory grew while stalled";
#ifndef SLUICE_SANITIZED  // sanitizers add shadow memory
    EXPECT_LT(rss_max - std::min(rss_at_start, rss_max), 192u << 20) << "broker, pipeline and backlog";
#endif

    stall(false);
    run.mark_floor();
    run.expect_everything_delivered(62000);
    EXPECT_GT(m.source.resumes.get(), 0u);
    EXPECT_EQ(run.duplicates(stalled_sink), 0u);
}
