// A partition's life against the embedded broker: where it starts, resets,
// commits of old epochs, answers to commits, a stop during a group join, a stop with the broker gone.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "commit/committer.hpp"
#include "commit/partition_table.hpp"
#include "delivery_audit.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

// The commit thread alone on a consumer of group `group`, fed by hand: one
// sink's ack channel plus its own, a partition table, 64 slots, commits every
// 20 ms.
struct commit_thread_rig {
    settings cfg = load_settings("", {"commit.interval.ms=20"});
    kafka_handle consumer;
    pipeline_metrics m;
    std::vector<thread_settings> waits = std::vector<thread_settings>(3);
    flow f{64, 1, waits};
    dead_letter_producer dlq;
    ack_channel sink{256, m.releases[0], f.commit_waiter, f.source_waiter};
    ack_channel own{256, m.releases[1], f.commit_waiter, f.source_waiter};
    partition_table table{m, f.in_flight};  // its names outlive the commit thread that reads them
    committer c;
    std::thread thread;

    commit_thread_rig(const std::string& bootstrap, const std::string& group)
        : consumer(consumer_of(bootstrap, group)), dlq(bootstrap, ".dlq", {}, m.commit),
          c(cfg, f, m, consumer.get(), dlq, {&sink}, own), thread([this] { c.run(); }) {}
    ~commit_thread_rig() {
        f.stop_commit.store(true);
        f.commit_waiter.wake();
        thread.join();
    }

    static kafka_handle consumer_of(const std::string& bootstrap, const std::string& group) {
        kafka_config conf;
        conf.set("bootstrap.servers", bootstrap);
        conf.set("group.id", group);
        conf.set("enable.auto.commit", "false");
        return conf.make(RD_KAFKA_CONSUMER);
    }
};


constexpr std::int16_t api_sync_group = 14;
constexpr std::int16_t api_offset_fetch = 9;

// Commits offsets for group from outside it (a simple consumer, as Kafka's
// own tools do when no member is active).
void commit_for(const std::string& bootstrap, const std::string& group,
                const std::vector<std::tuple<std::string, int, std::int64_t>>& offsets) {
    kafka_config conf;
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", group);
    conf.set("enable.auto.commit", "false");
    kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& [t, p, o] : offsets) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p)->offset = o;
    ASSERT_EQ(rd_kafka_commit(rk.get(), list.get(), 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_consumer_close(rk.get());
}

// One in-process pipeline with logging sinks (outputs none) on broker.
struct run : logged_pipeline {
    using logged_pipeline::logged_pipeline;
    bool assigned() { return logged_pipeline::assigned(60s); }
    source_metrics& source() { return p->metrics().source; }
};

std::int64_t sum_committed(const std::string& b, const std::string& group, const std::vector<std::string>& topics) {
    std::int64_t n = 0;
    for (const auto& [tp, off] : committed_offsets(b, group, topics)) n += std::max<std::int64_t>(off, 0);
    return n;
}

}  // namespace

// A committed offset past the end of the log (the log was truncated, or the
// offsets came from elsewhere) is reset by the policy, here earliest, and the
// move is counted: the partition is read from its start.
TEST(Lifecycle, CommittedOffsetPastTheEndIsResetAndCounted) {
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    std::vector<record> events = seed_records(600, 3);
    produce(b, events);
    const auto ends = end_offsets(b, {"portfolio.analytics"});
    std::vector<std::tuple<std::string, int, std::int64_t>> beyond;
    std::uint64_t rewound = 0;
    for (const auto& [tp, end] : ends) {
        beyond.emplace_back(tp.first, tp.second, end + 1000);
        rewound += static_cast<std::uint64_t>(end + 1000);  // back to 0
    }
    commit_for(b, "past-the-end", beyond);
    run r(b, "past-the-end");
    ASSERT_TRUE(r.assigned());
    ASSERT_TRUE(committed_to_end(b, "past-the-end", 60s));
    EXPECT_EQ(r.source().consumed.get(), 600u) << "every event once: the analytics partitions from their start";
    EXPECT_EQ(r.source().offset_resets.get(), ends.size());
    EXPECT_EQ(r.source().reset_rewound.get(), rewound);
    EXPECT_EQ(r.source().reset_skipped.get(), 0u);
    r.p->stop();
    EXPECT_TRUE(r.p->unconfirmed().empty());
}

// auto.offset.reset = latest, a new group: what was there before it joined is
// not read, and everything produced after is, once each, and committed.
TEST(Lifecycle, LatestPolicyStartsAtTheEndAndMissesNothingAfter) {
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    produce(b, seed_records(400, 4));
    run r(b, "latest", {"kafka.properties.\"auto.offset.reset\"=\"latest\""});
    ASSERT_TRUE(r.assigned());
    // Starts are resolved in the assignment: wait until every partition has one.
    ASSERT_TRUE(wait_until([&] { return r.source().assigned_partitions.get() >= 24; }, 30s));
    produce(b, seed_records(300, 5));
    ASSERT_TRUE(committed_to_end(b, "latest", 60s));
    EXPECT_EQ(r.source().consumed.get(), 300u);
    EXPECT_EQ(r.source().offset_resets.get(), 0u) << "no committed offset is not a reset";
    r.p->stop();
}

// An unknown value of sluice's own reset policy is a configuration error naming the key.
TEST(Lifecycle, ResetPolicyIsValidated) {
    try {
        load_settings("", {"kafka.properties.\"auto.offset.reset\"=\"error\""});
        FAIL() << "accepted";
    } catch (const config_error& e) {
        EXPECT_STREQ(e.what(), "config: kafka.properties.auto.offset.reset: expected earliest or latest (got 'error') (--set)");
    }
}

// Retention dropped the start of a partition below the group's committed
// offset: sluice moves forward to the log's start and counts the offsets it
// could not read (they are gone), instead of librdkafka doing so silently.
TEST(Lifecycle, CommittedOffsetBelowTheLogStartJumpsForwardAndCounts) {
    embedded_broker broker(1, {{"trimmed", 1}, {"trimmed.dlq", 1}, {"user.created", 1}});
    const std::string b = broker.bootstraps();
    commit_for(b, "trimmed", {{"trimmed", 0, 1}});
    // More than the embedded broker keeps of a partition (100 000 messages / 5 MiB).
    std::vector<record> events;
    const std::string value = R"({"event_id":"e","event_type":"page.view","timestamp":"2026-01-01T00:00:00Z","source":"t","version":"1","data":{"path":"/x"}})";
    for (int i = 0; i < 60000; ++i) events.push_back({"trimmed", 0, 0, "k", value});
    produce(b, events);
    std::int64_t lo = -1, hi = -1;
    {
        kafka_config conf;
        conf.set("bootstrap.servers", b);
        kafka_handle rk = conf.make(RD_KAFKA_PRODUCER);
        ASSERT_EQ(rd_kafka_query_watermark_offsets(rk.get(), "trimmed", 0, &lo, &hi, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_GT(lo, 1) << "the broker trimmed the log";
    ASSERT_EQ(hi, 60000);
    run r(b, "trimmed", {"kafka.topics=[\"trimmed\"]"});
    ASSERT_TRUE(r.assigned());
    ASSERT_TRUE(wait_until([&] { return sum_committed(b, "trimmed", {"trimmed"}) == hi; }, 90s));
    EXPECT_EQ(r.source().offset_resets.get(), 1u);
    EXPECT_EQ(r.source().reset_skipped.get(), static_cast<std::uint64_t>(lo - 1));
    EXPECT_EQ(r.source().consumed.get(), static_cast<std::uint64_t>(hi - lo));
    r.p->stop();
}

// While sluice is paused behind a slow sink, retention drops the log past its
// position: the fetch after the resume is out of range, librdkafka (told
// "error") reports it, and sluice moves the position to the log's start in a
// new epoch, counting the offsets it could not read. Everything from there
// is processed and committed. Sink threads are slow in the sinks; inline
// sinks, which run on the source thread, at their output (held_output).
TEST(Lifecycle, PositionLostWhileFetchingIsResetBySluiceAndCounted) {
    const bool inline_sinks = sinks_inline(test_settings({}));
    const std::map<std::string, int> topics = {{"trimmed", 1}, {"trimmed.dlq", 1}, {"user.created", 1}};
    embedded_broker broker(inline_sinks ? held_output::brokers : 1, inline_sinks ? held_output::topics(topics) : topics);
    std::optional<held_output> held;
    if (inline_sinks) held.emplace(broker, "trimmed-live");
    const std::string b = broker.bootstraps();
    const std::string value = R"({"event_id":"e","event_type":"page.view","timestamp":"2026-01-01T00:00:00Z","source":"t","version":"1","data":{"path":"/x"}})";
    auto batch = [&](int n) {
        std::vector<record> events;
        for (int i = 0; i < n; ++i) events.push_back({"trimmed", 0, 0, "k", value});
        produce(b, events);
    };
    batch(2000);
    std::atomic<bool> slow{true};
    // 20 ms per event against a 5 ms stall limit: the source pauses while it
    // waits for each slot, or (inline) for each delivery of 8 unconfirmed.
    std::vector<std::string> sets = {"kafka.topics=[\"trimmed\"]", "pipeline.ring.size=8", "pipeline.pause.after.ms=5"};
    if (held) {
        sets.push_back("pipeline.unconfirmed.max.events=8");
        for (const std::string& s : held->settings({"page.view"})) sets.push_back(s);
        held->slow(20);
    }
    run r(b, "trimmed-live", sets, [&](std::string_view) {
        if (!held && slow.load()) std::this_thread::sleep_for(20ms);
    });
    ASSERT_TRUE(r.assigned());
    ASSERT_TRUE(wait_until([&] { return r.source().consumed.get() > 50 && r.source().pauses.get() > 0; }, 60s));
    batch(60000);  // more than the broker keeps: the log's start moves past sluice's position
    slow.store(false);
    if (held) held->slow(0);
    std::int64_t lo = -1, hi = -1;
    {
        kafka_config conf;
        conf.set("bootstrap.servers", b);
        kafka_handle rk = conf.make(RD_KAFKA_PRODUCER);
        ASSERT_EQ(rd_kafka_query_watermark_offsets(rk.get(), "trimmed", 0, &lo, &hi, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_GT(lo, 2000);
    ASSERT_TRUE(wait_until([&] { return sum_committed(b, "trimmed-live", {"trimmed"}) == hi; }, 120s));
    EXPECT_GE(r.source().offset_resets.get(), 1u);
    EXPECT_GT(r.source().reset_skipped.get(), 0u);
    // Every offset is either consumed or counted as skipped (gone from the log).
    EXPECT_GE(r.source().consumed.get() + r.source().reset_skipped.get(), static_cast<std::uint64_t>(hi));
    r.p->stop();
}

// Completions of an epoch that arrive after its revoke (a drain that timed
// out) are never committed, even while the partition is assigned again: the
// commit thread commits only between an epoch's assign and revoke records.
// Committing them would move the group's offset back over the new owner's.
TEST(Lifecycle, LateCompletionsOfAnOldEpochAreNeverCommitted) {
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    const std::string topic = "portfolio.articles", group = "old-epoch";
    commit_thread_rig rig(b, group);
    pipeline_metrics& m = rig.m;
    flow& f = rig.f;
    ack_channel& sink = rig.sink;

    // Epoch 1 of topic[0]: ten events at offsets 0..9, the first five done.
    partition_table& table = rig.table;
    const std::uint32_t idx = table.assign(topic, 0, 0, 100);
    ASSERT_TRUE(f.to_commit.try_push({flow_record::kind::assign, idx, table.epoch(idx), 0}));
    for (std::uint32_t seq = 0; seq < 10; ++seq) {
        in_flight_event& s = f.in_flight[seq];
        s.partition = idx;
        s.seq = seq;
        s.epoch = table.epoch(idx);
        s.offset = seq;
        s.pending.store(1);
        ASSERT_TRUE(f.to_commit.try_push({flow_record::kind::dispatch, idx, seq, seq, table.epoch(idx)}));
    }
    for (std::uint32_t seq = 0; seq < 5; ++seq) sink.release(f.in_flight[seq]);
    sink.flush();
    f.commit_waiter.wake();
    auto committed = [&] { return committed_offsets(b, group, {topic}).at({topic, 0}); };
    ASSERT_TRUE(wait_until([&] { return committed() == 5; }, 20s));
    // The commit thread applied the broker's answer to this partition's epoch:
    // confirmed, nothing exposed. (One partition cannot tell whether answers
    // are matched to their request entries: CommitAnswersAreAppliedToThePartitionsThatAsked.)
    EXPECT_TRUE(wait_until(
        [&] { return m.partitions[idx].committed_offset.load() == 5 && m.partitions[idx].exposure.load() == 0; }, 10s))
        << "committed_offset " << m.partitions[idx].committed_offset.load() << ", exposure "
        << m.partitions[idx].exposure.load();

    // The revoke; another member takes over and commits 20; the partition is
    // assigned here again (the view says so before the record arrives).
    ASSERT_TRUE(f.to_commit.try_push({flow_record::kind::revoke, idx, table.epoch(idx), 0}));
    f.commit_waiter.wake();
    ASSERT_TRUE(wait_until([&] { return m.partitions[idx].closed_epoch.load() == table.epoch(idx); }, 10s));
    commit_for(b, group, {{topic, 0, 20}});
    m.partitions[idx].assigned.store(true);
    // The late completions of epoch 1.
    for (std::uint32_t seq = 5; seq < 10; ++seq) sink.release(f.in_flight[seq]);
    sink.flush();
    f.commit_waiter.wake();
    std::this_thread::sleep_for(500ms);  // 25 commit intervals
    EXPECT_EQ(committed(), 20) << "an old epoch's watermark was committed over the new owner's offset";
}

// The commit thread applies each element of the broker's answer to the
// request entry that asked for it. librdkafka 2.0.2 sorts a commit's list by
// topic before it sends it, so the answer comes back in another order than
// the request's: here zeta[0] (index 0), alpha[0] (index 1), zeta[1] (index
// 2) come back as alpha[0], zeta[0], zeta[1]. Each partition has its own
// done offset, so an answer applied to the wrong entry leaves a partition
// unconfirmed (committed_offset -1, events exposed); one that needed the
// commit thread's fallback (a scan of names) is counted.
TEST(Lifecycle, CommitAnswersAreAppliedToThePartitionsThatAsked) {
    embedded_broker broker(1, {{"zeta", 2}, {"alpha", 1}});
    const std::string b = broker.bootstraps();
    const std::string group = "answer-order";
    commit_thread_rig rig(b, group);
    pipeline_metrics& m = rig.m;
    flow& f = rig.f;
    ack_channel& sink = rig.sink;

    partition_table& table = rig.table;
    struct part {
        std::string topic;
        int partition;
        std::int64_t done;  // events done (offsets 0..done-1) of ten dispatched
        std::uint32_t idx = 0;
    };
    std::vector<part> parts = {{"zeta", 0, 3}, {"alpha", 0, 7}, {"zeta", 1, 5}};
    std::uint32_t slot = 0;
    for (part& p : parts) {
        p.idx = table.assign(p.topic, p.partition, 0, 100);
        ASSERT_TRUE(f.to_commit.try_push({flow_record::kind::assign, p.idx, table.epoch(p.idx), 0}));
        for (std::uint32_t seq = 0; seq < 10; ++seq, ++slot) {
            in_flight_event& s = f.in_flight[slot];
            s.partition = p.idx;
            s.seq = seq;
            s.epoch = table.epoch(p.idx);
            s.offset = seq;
            s.pending.store(1);
            ASSERT_TRUE(f.to_commit.try_push({flow_record::kind::dispatch, p.idx, seq, seq, table.epoch(p.idx)}));
            if (seq < p.done) sink.release(s);
        }
    }
    ASSERT_EQ(parts[0].idx, 0u);
    ASSERT_EQ(parts[1].idx, 1u);
    sink.flush();
    f.commit_waiter.wake();

    const std::map<std::pair<std::string, int>, std::int64_t> want = {
        {{"zeta", 0}, 3}, {{"alpha", 0}, 7}, {{"zeta", 1}, 5}};
    ASSERT_TRUE(wait_until([&] { return committed_offsets(b, group, {"zeta", "alpha"}) == want; }, 20s))
        << "the broker has the offsets asked for";
    auto confirmed = [&] {
        for (const part& p : parts)
            if (m.partitions[p.idx].committed_offset.load() != p.done || m.partitions[p.idx].exposure.load() != 0)
                return false;
        return true;
    };
    EXPECT_TRUE(wait_until(confirmed, 10s));
    for (const part& p : parts) {
        EXPECT_EQ(m.partitions[p.idx].committed_offset.load(), p.done) << p.topic << "[" << p.partition << "]";
        EXPECT_EQ(m.partitions[p.idx].exposure.load(), 0u) << p.topic << "[" << p.partition << "]";
    }
    // Each element found its entry by its opaque, not by the fallback scan of names.
    EXPECT_EQ(m.commit.answers_by_name.get(), 0u);
}

// SIGTERM while the group join hangs between JoinGroup and SyncGroup (here
// SyncGroup keeps failing) with cooperative-sticky: librdkafka 2.0.2 aborts
// when such a consumer is destroyed; sluice stops cleanly.
TEST(Lifecycle, StopDuringACooperativeGroupJoinDoesNotAbort) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            embedded_broker broker(1, load_settings("", {}).broker_topics());
            std::vector<rd_kafka_resp_err_t> errors(200, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
            rd_kafka_mock_push_request_errors_array(broker.cluster(), api_sync_group, errors.size(), errors.data());
            {
                run r(broker.bootstraps(), "joining",
                      {"kafka.properties.\"partition.assignment.strategy\"=\"cooperative-sticky\"",
                       "shutdown.timeout.ms=5000"});
                std::this_thread::sleep_for(6s);  // the first JoinGroup answers after ~3 s
                if (r.source().assigned_partitions.get() != 0) std::_Exit(3);  // SyncGroup was meant to fail
                r.p->stop();
            }
            std::_Exit(0);
        },
        ::testing::ExitedWithCode(0), "consumer not destroyed: it never had an assignment");
}

// The broker dies with events processed but not committed: the stop ends
// within its bound instead of waiting for the coordinator, and says which
// partitions' offsets were not committed and how many events are exposed.
TEST(Lifecycle, StopWithTheBrokerGoneIsBoundedAndNamesWhatIsExposed) {
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    run r(b, "broker-gone",
          {"commit.interval.ms=3600000", "commit.max.events=100000000", "shutdown.timeout.ms=3000"});
    ASSERT_TRUE(r.assigned());
    produce(b, seed_records(500, 6));
    ASSERT_TRUE(wait_until([&] { return r.source().consumed.get() == 500; }, 60s));
    std::this_thread::sleep_for(300ms);  // the sinks finish (outputs none)
    ASSERT_EQ(rd_kafka_mock_broker_set_down(broker.cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    const auto t0 = std::chrono::steady_clock::now();
    r.p->stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 20s) << "a bound of 3 s (generous: the machine is shared)";
    const std::vector<std::string>& lines = r.p->unconfirmed();
    ASSERT_FALSE(lines.empty());
    // "TOPIC[P]: committed C, done to D: N events done but not committed, 0 unfinished",
    // where N = D - max(C, 0): offsets here have no gaps.
    std::uint64_t exposed = 0;
    for (const std::string& line : lines) {
        long long committed = 0, done_to = 0;
        unsigned long long n = 0, unfinished = 1;
        const auto at = line.find("]: committed ");
        ASSERT_NE(at, std::string::npos) << line;
        ASSERT_EQ(std::sscanf(line.c_str() + at, "]: committed %lld, done to %lld: %llu events done but not committed, %llu unfinished",
                              &committed, &done_to, &n, &unfinished), 4) << line;
        EXPECT_EQ(static_cast<long long>(n), done_to - std::max(committed, 0LL)) << line;
        EXPECT_EQ(unfinished, 0u) << line;
        exposed += n;
    }
    // The first commit goes out with the first completions (the interval
    // counts from the start), none after: what it covered plus what is
    // exposed is every event.
    std::uint64_t covered = 0;
    const pipeline_metrics& m = r.p->metrics();
    for (std::uint32_t i = 0; i < m.partition_count.load(); ++i)
        covered += static_cast<std::uint64_t>(std::max<std::int64_t>(m.partitions[i].committed_offset.load(), 0));
    EXPECT_GT(exposed, 0u);
    EXPECT_EQ(exposed + covered, 500u);
}

// sluice's own OffsetFetch in the assign callback fails once: the partition
// is assigned at RD_KAFKA_OFFSET_STORED, librdkafka finds no committed offset
// and (reset policy "error") reports it with the partition's fetching stopped;
// sluice starts it by the policy, and every event is consumed once.
TEST(Lifecycle, StoredFallbackWithoutCommittedOffsetStillConsumes) {
    embedded_broker broker(1, {{"solo", 1}, {"solo.dlq", 1}, {"user.created", 1}});
    const std::string b = broker.bootstraps();
    std::vector<record> events;
    const std::string value = R"({"event_id":"e","event_type":"page.view","timestamp":"2026-01-01T00:00:00Z","source":"t","version":"1","data":{"path":"/x"}})";
    for (int i = 0; i < 100; ++i) events.push_back({"solo", 0, 0, "k", value});
    produce(b, events);
    rd_kafka_mock_push_request_errors(broker.cluster(), api_offset_fetch, 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    run r(b, "stored-fallback", {"kafka.topics=[\"solo\"]"});
    ASSERT_TRUE(r.assigned());
    EXPECT_TRUE(wait_until([&] { return sum_committed(b, "stored-fallback", {"solo"}) == 100; }, 30s));
    EXPECT_EQ(r.source().consumed.get(), 100u);
    r.p->stop();
}

// Sinks slower than the source but never stuck (10 ms per event, 8 slots)
// keep the source backpressured for the whole run, with a held batch that
// takes seconds to dispatch. Slots keep freeing, so the source must not pause
// (pause.after.ms is a hundred times one event), and every partition of both
// brokers is read and committed to its end. A pause drops what librdkafka
// has prefetched, and the refetch after the resume favours whichever broker
// answers first: pausing every round starves the other broker's partitions.
TEST(Lifecycle, SteadyBackpressureDoesNotPauseAndEveryPartitionOfEachBrokerProgresses) {
    constexpr int partitions = 4, per_partition = 150;
    embedded_broker broker(2, {{"solo", partitions}, {"solo.dlq", 1}, {"user.created", 1}});
    const std::string b = broker.bootstraps();
    // Partitions 0 and 1 led by broker 1, 2 and 3 by broker 2.
    for (int i = 0; i < partitions; ++i)
        ASSERT_EQ(rd_kafka_mock_partition_set_leader(broker.cluster(), "solo", i, i < 2 ? 1 : 2), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::vector<record> events;
    const std::string value = R"({"event_id":"e","event_type":"page.view","timestamp":"2026-01-01T00:00:00Z","source":"t","version":"1","data":{"path":"/x"}})";
    for (int i = 0; i < partitions * per_partition; ++i) events.push_back({"solo", i % partitions, 0, "k", value});
    produce(b, events);
    run r(b, "steady-backpressure", {"kafka.topics=[\"solo\"]", "pipeline.ring.size=8", "pipeline.pause.after.ms=1000"},
          [](std::string_view) { std::this_thread::sleep_for(10ms); });
    ASSERT_TRUE(r.assigned());
    const auto all_committed = [&] {
        const auto c = committed_offsets(b, "steady-backpressure", {"solo"});
        for (int i = 0; i < partitions; ++i) {
            const auto it = c.find({"solo", i});
            if (it == c.end() || it->second != per_partition) return false;
        }
        return true;
    };
    EXPECT_TRUE(wait_until(all_committed, 120s));
    for (const auto& [tp, off] : committed_offsets(b, "steady-backpressure", {"solo"}))
        EXPECT_EQ(off, per_partition) << tp.first << "[" << tp.second << "]";
    sightings seen;  // by any sink
    for (const char* sink : {"enrichment", "notification", "analytics"})
        for (const auto& [c, n] : r.log->of(sink)) seen[c] += n;
    std::size_t missing = 0;
    for (int i = 0; i < partitions; ++i)
        for (int o = 0; o < per_partition; ++o) missing += seen.count(coord{"solo", i, o}) == 0;
    EXPECT_EQ(missing, 0u) << "offsets never handed to a sink";
    EXPECT_EQ(r.source().pauses.get(), 0u) << "the source paused although its sinks kept freeing slots";
    EXPECT_GE(r.source().consumed.get(), std::uint64_t(partitions * per_partition));
    r.p->stop();
}

// librdkafka 2.0.2 keeps a partition's application pause across unassign and
// assign: a partition sluice paused for backpressure and that was revoked
// while paused (eager: all of them) must be fetched again when it comes back.
// Without backpressure, the same rebalance as a control. Sink threads are
// held in the sinks; inline sinks, which run on the source thread, at their
// output (held_output).
class LifecyclePausedAtRevoke : public ::testing::TestWithParam<bool> {};
TEST_P(LifecyclePausedAtRevoke, PartitionIsFetchedWhenItComesBack) {
    const bool backpressure = GetParam();
    const bool hold_output = backpressure && sinks_inline(test_settings({}));
    const std::map<std::string, int> topics = {{"solo", 1}, {"solo.dlq", 1}, {"user.created", 1}};
    embedded_broker broker(hold_output ? held_output::brokers : 1, hold_output ? held_output::topics(topics) : topics);
    std::optional<held_output> held;
    if (hold_output) held.emplace(broker, "paused-revoke");
    const std::string b = broker.bootstraps();
    std::vector<record> events;
    const std::string value = R"({"event_id":"e","event_type":"page.view","timestamp":"2026-01-01T00:00:00Z","source":"t","version":"1","data":{"path":"/x"}})";
    for (int i = 0; i < 200; ++i) events.push_back({"solo", 0, 0, "k", value});
    produce(b, events);
    std::atomic<bool> gate_open{!backpressure};
    auto log = std::make_shared<sink_log>();
    const std::string dir = temp_dir();
    std::vector<std::string> sets = {"kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"paused-revoke\"",
                                     "kafka.topics=[\"solo\"]", "stats.socket=\"" + dir + "/s.sock\"",
                                     "sinks.enrichment.output=\"none\"", "sinks.notification.output=\"none\"",
                                     "sinks.analytics.output=\"none\"", "commit.interval.ms=50",
                                     "pipeline.ring.size=8", backpressure ? "pipeline.pause.after.ms=5" : "pipeline.pause.after.ms=600000",
                                     "kafka.properties.\"session.timeout.ms\"=6000",
                                     "kafka.properties.\"heartbeat.interval.ms\"=500"};
    auto open_gate = [&] {
        gate_open.store(true);
        if (held) held->hold(false);
    };
    if (held) {
        sets.push_back("pipeline.unconfirmed.max.events=8");
        for (const std::string& s : held->settings({"page.view"})) sets.push_back(s);
        held->hold(true);
    }
    pipeline p(test_settings(sets), logging_seed_sinks(log, [&](std::string_view) {
                   while (!held && !gate_open.load()) std::this_thread::sleep_for(1ms);
               }),
               seed_schema());
    struct open_on_exit {
        std::function<void()> open;
        ~open_on_exit() { open(); }  // before the pipeline stops, should an assertion end the test early
    } opener_of_last_resort{open_gate};
    p.start();
    if (backpressure) ASSERT_TRUE(wait_until([&] { return p.metrics().source.pauses.get() > 0; }, 60s)) << "backpressured";
    else ASSERT_TRUE(wait_until([&] { return sum_committed(b, "paused-revoke", {"solo"}) == 200; }, 60s));
    // A second member joins: eager revoke of everything while paused.
    kafka_config conf;
    conf.set("bootstrap.servers", b);
    conf.set("group.id", "paused-revoke");
    conf.set("enable.auto.commit", "false");
    conf.set("session.timeout.ms", "6000");
    conf.set("heartbeat.interval.ms", "500");
    conf.set("partition.assignment.strategy", "range,roundrobin");
    kafka_handle other = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(other.get());
    partition_list subs(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(subs.get(), "solo", RD_KAFKA_PARTITION_UA);
    ASSERT_EQ(rd_kafka_subscribe(other.get(), subs.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
    const auto rebalances = p.metrics().source.rebalances.get();
    // Let the revoke drain finish.
    std::thread opener([&] { std::this_thread::sleep_for(1500ms); open_gate(); });
    const auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(other.get(), 100)) rd_kafka_message_destroy(m);
    }
    opener.join();
    EXPECT_GT(p.metrics().source.rebalances.get(), rebalances);
    rd_kafka_consumer_close(other.get());
    other.reset();
    produce(b, std::vector<record>(events.begin(), events.begin() + 100));
    EXPECT_TRUE(wait_until([&] { return sum_committed(b, "paused-revoke", {"solo"}) == 300; }, 40s))
        << "committed " << sum_committed(b, "paused-revoke", {"solo"}) << ", pauses " << p.metrics().source.pauses.get()
        << ", resumes " << p.metrics().source.resumes.get() << ", rebalances " << p.metrics().source.rebalances.get()
        << ", consumed " << p.metrics().source.consumed.get() << ", assigned now " << p.metrics().partitions[0].assigned.load()
        << ", assignments " << p.metrics().source.assigned_partitions.get();
    p.stop();
}
INSTANTIATE_TEST_SUITE_P(Lifecycle, LifecyclePausedAtRevoke, ::testing::Values(true, false));
