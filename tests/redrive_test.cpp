// Redrive: dead letters of both formats go back to their source topic, are processed again, once.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>
#include <string>

#include "dead_letter/redrive.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

std::string task(int id) {
    return R"({"eventType":"task.updated","taskId":)" + std::to_string(id) +
           R"(,"teamId":1,"actorId":2,"creatorId":1,"assigneeId":null,"timestamp":"2025-08-25T22:00:05.574Z","payload":{"title":"T"}})";
}
const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string not_json = "{not json";
const std::string not_utf8("\xff\xfe\x00garbage\x80", 11);

struct redrive_run {
    std::string dir = temp_dir();
    embedded_broker broker{1, load_settings("", {}).broker_topics()};
    std::string b = broker.bootstraps();

    // The pipeline (group "app") until everything produced so far is committed.
    std::unique_ptr<pipeline> run_pipeline(const std::string& format) {
        std::vector<std::string> sets = {
            "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"app\"", "stats.socket=\"" + dir + "/s.sock\"",
            "sinks.enrichment.output=\"none\"", "sinks.analytics.output=\"none\"",
            "sinks.notification.output=\"kafka:notifications.outbox\"", "sinks.enrichment.directory.topic=\"\"",
            "sinks.retry.max.attempts=2", "sinks.retry.backoff.ms=10",
            "kafka.producer.properties.\"message.timeout.ms\"=500", "commit.interval.ms=50",
            "kafka.dlq.format=\"" + format + "\"",
            // Quick rejoin of the group on the embedded broker (engine/README.md,
            // The embedded broker, as tests meet it).
            "kafka.properties.\"session.timeout.ms\"=6000"};
        auto p = std::make_unique<pipeline>(load_settings("", sets), make_seed_sink, seed_schema());
        p->start();
        EXPECT_TRUE(committed_to_end(b, "app", 60s));
        p->stop();
        return p;
    }
    redrive_result redrive_dlq(const std::string& reason = "", bool dry_run = false) {
        redrive_options o;
        o.bootstrap = b;
        o.topic = "task.updated.dlq";
        o.reason = reason;
        o.dry_run = dry_run;
        return redrive(o, stderr);
    }
};

}  // namespace

TEST(Redrive, BothFormatsReturnToTheSourceOnceAndAreProcessedAgain) {
    redrive_run r;
    // The notification output is refused until the cause is fixed.
    rd_kafka_mock_topic_set_error(r.broker.cluster(), "notifications.outbox", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    // Dead letters in the headers format...
    produce(r.b, {{"task.updated", 1, 0, "401", task(401), false, {{"traceparent", traceparent}}},
                  {"task.updated", 1, 0, "bad1", not_json}});
    r.run_pipeline("headers");
    // ...and in the envelope format, in the same dead-letter topic.
    produce(r.b, {{"task.updated", 2, 0, "402", task(402)}, {"task.updated", 2, 0, "bad2", not_utf8}});
    r.run_pipeline("envelope");
    const auto dlq = read_all(r.b, "task.updated.dlq");
    ASSERT_EQ(dlq.size(), 4u);
    std::map<std::string, std::string> formats;
    for (const record& d : dlq) formats[d.key] = d.headers.at("sluice.dlq.format");
    EXPECT_EQ(formats, (std::map<std::string, std::string>{
                           {"401", "headers"}, {"bad1", "headers"}, {"402", "envelope"}, {"bad2", "envelope"}}));
    const auto source_end = end_offsets(r.b, {"task.updated"});

    // Dry run with a reason: says what it would send, sends and commits nothing.
    redrive_result dry = r.redrive_dlq("notifications.outbox", true);
    EXPECT_EQ(dry.read, 4u);
    EXPECT_EQ(dry.sent, 2u) << "the two output failures match the reason";
    EXPECT_EQ(dry.skipped, 2u);
    EXPECT_EQ(end_offsets(r.b, {"task.updated"}), source_end) << "a dry run sends nothing";
    EXPECT_EQ(committed_offsets(r.b, "sluice-redrive", {"task.updated.dlq"}).at({"task.updated.dlq", 1}), -1001)
        << "a dry run commits nothing";

    // The cause is fixed; redrive everything.
    rd_kafka_mock_topic_set_error(r.broker.cluster(), "notifications.outbox", RD_KAFKA_RESP_ERR_NO_ERROR);
    redrive_result first = r.redrive_dlq();
    EXPECT_EQ(first.read, 4u);
    EXPECT_EQ(first.sent, 4u);
    EXPECT_EQ(first.unreadable, 0u);
    EXPECT_EQ(first.failed, 0u);
    // Back in their source topic and partition, original key, bytes and headers, counted.
    std::map<std::string, record> back;
    for (const record& rec : read_all(r.b, "task.updated"))
        if (rec.offset >= source_end.at({"task.updated", rec.partition})) back[rec.key] = rec;
    ASSERT_EQ(back.size(), 4u);
    EXPECT_EQ(back.at("401").value, task(401));
    EXPECT_EQ(back.at("401").partition, 1);
    EXPECT_EQ(back.at("401").headers, (std::map<std::string, std::string>{{"traceparent", traceparent},
                                                                          {"sluice.redrive.count", "1"}}));
    EXPECT_EQ(back.at("bad1").value, not_json);
    EXPECT_EQ(back.at("402").value, task(402)) << "from the envelope's event";
    EXPECT_EQ(back.at("402").partition, 2);
    EXPECT_EQ(back.at("bad2").value, not_utf8) << "from the envelope's base64";
    EXPECT_EQ(back.at("bad2").headers.at("sluice.redrive.count"), "1");

    // A second run sends none.
    redrive_result second = r.redrive_dlq();
    EXPECT_EQ(second.read, 0u);
    EXPECT_EQ(second.sent, 0u);
    EXPECT_EQ(end_offsets(r.b, {"task.updated"}).at({"task.updated", 1}), source_end.at({"task.updated", 1}) + 2);

    // Processed again: the valid events reach the now working output; the
    // bad ones are dead-lettered again, with their count.
    r.run_pipeline("headers");
    std::set<std::string> notified;
    for (const record& n : read_all(r.b, "notifications.outbox")) {
        notified.insert(n.value.find("\"entity_id\":\"401\"") != std::string::npos ? "401"
                        : n.value.find("\"entity_id\":\"402\"") != std::string::npos ? "402" : n.value);
        if (n.value.find("\"entity_id\":\"401\"") != std::string::npos) EXPECT_EQ(n.headers.at("traceparent"), traceparent);
    }
    EXPECT_EQ(notified, (std::set<std::string>{"401", "402"}));
    const auto dlq_after = read_all(r.b, "task.updated.dlq");
    ASSERT_EQ(dlq_after.size(), 6u);
    std::map<std::string, std::string> again;
    for (std::size_t i = 0; i < dlq_after.size(); ++i)
        if (dlq_after[i].headers.count("sluice.redrive.count")) again[dlq_after[i].key] = dlq_after[i].value;
    EXPECT_EQ(again, (std::map<std::string, std::string>{{"bad1", not_json}, {"bad2", not_utf8}}));
}
