// The embedded broker's fault commands, checked through their effect on a
// real client: failed commits, moved leaders, brokers down and up, a slow
// broker, a moved coordinator; bad lines change nothing.
#include <gtest/gtest.h>

#include <chrono>

#include "kafka/broker_control.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka/kafka_handles.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

kafka_handle client(const std::string& bootstrap, const std::string& group = "control-test") {
    kafka_config conf;
    conf.set("bootstrap.servers", bootstrap).set("group.id", group).set("log_level", "0");
    conf.set("enable.auto.commit", "false");
    return conf.make(RD_KAFKA_CONSUMER);
}

// Leader of topic/partition from a fresh metadata request (-2: request failed).
std::int32_t leader_of(rd_kafka_t* rk, const std::string& topic, int partition) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 5000);
    rd_kafka_topic_destroy(t);
    if (err) return -2;
    std::int32_t leader = -3;
    if (md->topic_cnt == 1 && partition < md->topics[0].partition_cnt) leader = md->topics[0].partitions[partition].leader;
    rd_kafka_metadata_destroy(md);
    return leader;
}

bool topic_exists(rd_kafka_t* rk, const std::string& topic) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 1, nullptr, &md, 5000)) return false;
    bool found = false;
    for (int i = 0; i < md->topic_cnt; ++i) found |= topic == md->topics[i].topic;
    rd_kafka_metadata_destroy(md);
    return found;
}

// Commits offset for t/0 synchronously; returns the first error (request or partition).
rd_kafka_resp_err_t commit(rd_kafka_t* rk, std::int64_t offset) {
    partition_list list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), "t", 0)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, list.get(), 0);
    if (!err) err = list->elems[0].err;
    return err;
}

std::int64_t committed(rd_kafka_t* rk) {
    partition_list list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), "t", 0);
    if (rd_kafka_committed(rk, list.get(), 5000)) return -2;
    return list->elems[0].offset;
}

}  // namespace

TEST(BrokerControl, FailedCommitsFailThenCommitsSucceed) {
    embedded_broker broker(3, {{"t", 2}});
    broker_control control(broker);
    kafka_handle rk = client(broker.bootstraps());
    ASSERT_EQ(commit(rk.get(), 5), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(control.apply("fail-commits 2 INVALID_COMMIT_OFFSET_SIZE"),
              "ok: fail OffsetCommit 2 INVALID_COMMIT_OFFSET_SIZE");
    EXPECT_EQ(commit(rk.get(), 10), RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE);
    EXPECT_EQ(commit(rk.get(), 11), RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE);
    EXPECT_EQ(committed(rk.get()), 5) << "a failed commit moved the committed offset";
    EXPECT_EQ(commit(rk.get(), 12), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(committed(rk.get()), 12);

    // Queued failures can be dropped; numbers name errors too.
    EXPECT_EQ(control.apply("fail OffsetCommit 3 28"), "ok: fail OffsetCommit 3 INVALID_COMMIT_OFFSET_SIZE");
    EXPECT_EQ(control.apply("clear offsetcommit"), "ok: clear OffsetCommit");
    EXPECT_EQ(commit(rk.get(), 13), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(committed(rk.get()), 13);
}

TEST(BrokerControl, LeaderMovesAndBadTopicsAreRefused) {
    embedded_broker broker(3, {{"t", 2}});
    broker_control control(broker);
    kafka_handle rk = client(broker.bootstraps());
    EXPECT_EQ(control.apply("leader t 1 3"), "ok: leader t 1 3");
    EXPECT_EQ(leader_of(rk.get(), "t", 1), 3);
    EXPECT_EQ(control.apply("  leader\tt 1 2  "), "ok: leader t 1 2");
    EXPECT_EQ(leader_of(rk.get(), "t", 1), 2);
    EXPECT_EQ(control.apply("leader t 1 none"), "ok: leader t 1 none");
    EXPECT_EQ(leader_of(rk.get(), "t", 1), -1);
    EXPECT_EQ(control.apply("leader t 1 1"), "ok: leader t 1 1");
    EXPECT_EQ(leader_of(rk.get(), "t", 1), 1);

    // The mock would create a topic it does not know: the control refuses.
    EXPECT_EQ(control.apply("leader typo 0 1"), "error: unknown topic 'typo'");
    EXPECT_FALSE(topic_exists(rk.get(), "typo"));
    EXPECT_EQ(control.apply("leader t 2 1"), "error: PARTITION: expected an integer 0..1, got '2'");
    EXPECT_EQ(control.apply("leader t 1 4"), "error: broker: expected an integer 1..3, got '4'");
    EXPECT_EQ(leader_of(rk.get(), "t", 1), 1);
}

TEST(BrokerControl, DownRefusesClientsUntilUp) {
    embedded_broker broker(1, {{"t", 1}});
    broker_control control(broker);
    EXPECT_EQ(control.apply("down all"), "ok: down all");
    {
        kafka_handle rk = client(broker.bootstraps());
        const rd_kafka_metadata_t* md = nullptr;
        EXPECT_NE(rd_kafka_metadata(rk.get(), 1, nullptr, &md, 1500), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    EXPECT_EQ(control.apply("up 1"), "ok: up 1");
    kafka_handle rk = client(broker.bootstraps());
    EXPECT_EQ(leader_of(rk.get(), "t", 0), 1);
}

TEST(BrokerControl, CoordinatorMovesToTheNamedBroker) {
    embedded_broker broker(2, {{"t", 1}});
    broker_control control(broker);
    EXPECT_EQ(control.apply("leader t 0 1"), "ok: leader t 0 1");
    EXPECT_EQ(control.apply("coordinator g 2"), "ok: coordinator g 2");
    EXPECT_EQ(control.apply("down 2"), "ok: down 2");
    {
        // Broker 1 still answers metadata, but the group lives on broker 2.
        kafka_handle rk = client(broker.bootstraps(), "g");
        EXPECT_EQ(leader_of(rk.get(), "t", 0), 1);
        partition_list list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), "t", 0);
        EXPECT_NE(rd_kafka_committed(rk.get(), list.get(), 1500), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    EXPECT_EQ(control.apply("coordinator g 1"), "ok: coordinator g 1");
    kafka_handle rk = client(broker.bootstraps(), "g");
    EXPECT_EQ(committed(rk.get()), RD_KAFKA_OFFSET_INVALID);
}

TEST(BrokerControl, RttDelaysEveryAnswer) {
    embedded_broker broker(1, {{"t", 1}});
    broker_control control(broker);
    kafka_handle rk = client(broker.bootstraps());
    ASSERT_EQ(leader_of(rk.get(), "t", 0), 1);  // connected
    EXPECT_EQ(control.apply("rtt all 700"), "ok: rtt all 700");
    // A lower bound only: a loaded machine can make it slower, never faster.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(leader_of(rk.get(), "t", 0), 1);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 700ms);
    EXPECT_EQ(control.apply("rtt 1 0"), "ok: rtt 1 0");
}

TEST(BrokerControl, BadLinesGetAnErrorAndChangeNothing) {
    embedded_broker broker(2, {{"t", 1}});
    broker_control control(broker);
    EXPECT_EQ(control.apply(""), "");
    EXPECT_EQ(control.apply("   \r"), "");
    EXPECT_EQ(control.apply("# a comment"), "");
    EXPECT_EQ(control.apply("explode now"), "error: unknown command 'explode' (help lists the commands)");
    EXPECT_EQ(control.apply("fail-commits"), "error: usage: fail-commits COUNT [ERROR]");
    EXPECT_EQ(control.apply("fail-commits 0"), "error: COUNT: expected an integer 1..100000, got '0'");
    EXPECT_EQ(control.apply("fail-commits -3"), "error: COUNT: expected an integer 1..100000, got '-3'");
    EXPECT_EQ(control.apply("fail-commits 99999999999999999999999"),
              "error: COUNT: expected an integer 1..100000, got '99999999999999999999999'");
    EXPECT_EQ(control.apply("fail-commits 2x"), "error: COUNT: expected an integer 1..100000, got '2x'");
    EXPECT_EQ(control.apply("fail-commits 2 NO_SUCH_ERROR").rfind("error: unknown Kafka error 'NO_SUCH_ERROR'", 0), 0u);
    EXPECT_EQ(control.apply("fail Frobnicate 2").rfind("error: unknown request type 'Frobnicate' (one of Produce,", 0),
              0u);
    EXPECT_EQ(control.apply("rtt 3 10"), "error: broker (or all): expected an integer 1..2, got '3'");
    EXPECT_EQ(control.apply("rtt all 10 extra"), "error: usage: rtt BROKER|all MS");
    EXPECT_EQ(control.apply("rtt all -1"), "error: MS: expected an integer 0..600000, got '-1'");
    EXPECT_EQ(control.apply("down 0"), "error: broker (or all): expected an integer 1..2, got '0'");
    EXPECT_EQ(control.apply("coordinator g all"), "error: broker: expected an integer 1..2, got 'all'");
    EXPECT_EQ(control.apply(std::string("rtt \0 1", 7)).rfind("error: ", 0), 0u);
    EXPECT_EQ(control.apply("help").rfind("ok: fail API COUNT [ERROR]", 0), 0u);

    // Nothing above queued a failure: a commit goes through at once.
    kafka_handle rk = client(broker.bootstraps());
    EXPECT_EQ(commit(rk.get(), 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(committed(rk.get()), 3);
}
