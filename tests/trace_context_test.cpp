// Trace context: headers and envelope correlation ids reach every output record and dead letter.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <string>

#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

using headers = std::map<std::string, std::string>;

// task.updated by actor 2 of a task created by 1: one enriched record, one
// notification (to 1). extra: more top-level envelope fields.
std::string task(int id, const std::string& extra = "") {
    return R"({"eventType":"task.updated","taskId":)" + std::to_string(id) +
           R"(,"teamId":1,"actorId":2,"creatorId":1,"assigneeId":null,"timestamp":"2025-08-25T22:00:05.574Z")" + extra +
           R"(,"payload":{"title":"T"}})";
}

const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST(TraceContext, CarriedIntoKafkaOutputsFileOutputsAndDeadLetters) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    // Task id -> the trace context its records must carry.
    const std::map<std::string, headers> expected = {
        {"101", {{"traceparent", traceparent}, {"tracestate", "congo=t61rcWkgMzE"}}},
        {"102", {{"trace-id", "trace-102"}}},
        {"103", {{"correlation-id", "corr-103"}}},
        {"104", {{"correlation-id", "corr-104"}}},
        {"105", {{"correlation-id", "corr-105"}}},
        {"106", {{"correlation-id", "corr-header"}, {"trace-id", "t-106"}}},
        {"107", {}},
    };
    std::vector<record> in = {
        {"task.updated", 0, 0, "101", task(101), false,
         {{"traceparent", traceparent}, {"tracestate", "congo=t61rcWkgMzE"}, {"content-type", "application/json"}}},
        {"task.updated", 0, 0, "102", task(102), false, {{"trace-id", "trace-102"}, {"timestamp", "2025-08-25T22:00:05Z"}}},
        {"task.updated", 0, 0, "103", task(103), false, {{"correlation-id", "corr-103"}}},
        {"task.updated", 0, 0, "104", task(104, R"(,"correlationId":"corr-104")")},
        {"task.updated", 0, 0, "105", task(105, R"(,"correlation_id":"corr-105")")},
        // The header wins over the envelope field.
        {"task.updated", 0, 0, "106", task(106, R"(,"correlationId":"corr-envelope")"), false,
         {{"correlation-id", "corr-header"}, {"trace-id", "t-106"}}},
        {"task.updated", 0, 0, "107", task(107), false, {{"event-type", "task.updated"}}},
        // Bad input: its dead letter carries the trace too.
        {"task.updated", 0, 0, "bad", "{not json", false, {{"traceparent", traceparent}, {"trace-id", "t-bad"}}},
    };
    produce(b, in);
    const settings cfg = load_settings("", {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"trace\"", "stats.socket=\"" + dir + "/s.sock\"",
        "sinks.enrichment.output=\"kafka:enriched.events\"",
        "sinks.notification.output=\"file:" + dir + "/notifications.jsonl\"", "sinks.analytics.output=\"none\"",
        "sinks.enrichment.directory.topic=\"\"", "commit.interval.ms=50"});
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(committed_to_end(b, "trace", std::chrono::seconds(60)));
        p.stop();
    }

    // Enrichment output records: exactly the event's trace context as headers.
    const auto enriched = read_all(b, "enriched.events");
    ASSERT_EQ(enriched.size(), 7u);
    for (const record& r : enriched) {
        ASSERT_TRUE(expected.count(r.key)) << r.key;
        EXPECT_EQ(r.headers, expected.at(r.key)) << "enriched record of task " << r.key;
    }

    // Notification file records: a "trace" object with the same pairs.
    const auto lines = read_lines(dir + "/notifications.jsonl");
    ASSERT_EQ(lines.size(), 7u);
    simdjson::dom::parser parser;
    for (const std::string& line : lines) {
        simdjson::dom::element doc;
        ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
        const std::string id{std::string_view(doc["entity_id"])};
        headers got;
        simdjson::dom::object trace;
        if (doc["trace"].get(trace) == simdjson::SUCCESS)
            for (auto [k, v] : trace) got[std::string(k)] = std::string(std::string_view(v));
        EXPECT_EQ(got, expected.at(id)) << line;
        EXPECT_EQ(std::string_view(doc["kind"]), "task.updated") << "the sink's own fields are intact: " << line;
    }

    // The dead letter of the bad input: original bytes, sluice.* and trace headers.
    const auto dlq = read_all(b, "task.updated.dlq");
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_EQ(dlq[0].value, "{not json");
    EXPECT_EQ(dlq[0].headers.at("traceparent"), traceparent);
    EXPECT_EQ(dlq[0].headers.at("trace-id"), "t-bad");
    EXPECT_EQ(dlq[0].headers.count("sluice.failure_reason"), 1u);
}

// kafka.trace.headers replaces the list: only the named headers travel.
TEST(TraceContext, ConfiguredHeaderList) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    produce(b, {{"task.updated", 0, 0, "201", task(201, R"(,"correlationId":"corr-201")"), false,
                 {{"traceparent", traceparent}, {"event-type", "task.updated"}, {"x-tenant", "acme"}}}});
    const settings cfg = load_settings("", {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"trace-list\"", "stats.socket=\"" + dir + "/s.sock\"",
        "sinks.enrichment.output=\"kafka:enriched.events\"", "sinks.notification.output=\"none\"",
        "sinks.analytics.output=\"none\"", "sinks.enrichment.directory.topic=\"\"", "commit.interval.ms=50",
        "kafka.trace.headers=[\"x-tenant\",\"event-type\"]"});
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(committed_to_end(b, "trace-list", std::chrono::seconds(60)));
        p.stop();
    }
    const auto enriched = read_all(b, "enriched.events");
    ASSERT_EQ(enriched.size(), 1u);
    // The envelope correlation id travels whatever the list.
    EXPECT_EQ(enriched[0].headers,
              (headers{{"x-tenant", "acme"}, {"event-type", "task.updated"}, {"correlation-id", "corr-201"}}));
}
