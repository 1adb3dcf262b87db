// Dead letters through the embedded broker: the envelope format's exact fields, one per failing sink.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>

#include "base/clock.hpp"
#include "base/timestamp.hpp"
#include "dead_letter/dead_letter_record.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

const std::string valid_task =
    R"({"eventType":"task.updated","taskId":301,"teamId":1,"actorId":2,"creatorId":1,"assigneeId":null,)"
    R"("timestamp":"2025-08-25T22:00:05.574Z","payload":{"title":"T"}})";
const std::string missing_task_id = R"({"eventType":"task.updated","timestamp":"2025-08-25T22:00:05Z","actorId":2})";
const std::string not_json = "{not json";
const std::string not_utf8("\xff\xfe\x00garbage\x80", 11);
const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Both Kafka outputs refused for good by the broker: a valid task event
// fails in enrichment and in notification. Three bad inputs besides.
std::vector<record> run_failing(const std::string& group, const std::string& format, std::int64_t& t0,
                                std::int64_t& t1) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    rd_kafka_mock_topic_set_error(broker.cluster(), "enriched.events", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    rd_kafka_mock_topic_set_error(broker.cluster(), "notifications.outbox", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    produce(b, {{"task.updated", 0, 0, "301", valid_task, false, {{"traceparent", traceparent}}},
                {"task.updated", 0, 0, "bad1", not_json},
                {"task.updated", 0, 0, "bad2", not_utf8},
                {"task.updated", 0, 0, "bad3", missing_task_id}});
    std::vector<std::string> sets = {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"" + group + "\"",
        "stats.socket=\"" + dir + "/s.sock\"", "sinks.analytics.output=\"none\"",
        "sinks.enrichment.directory.topic=\"\"", "sinks.retry.max.attempts=3", "sinks.retry.backoff.ms=20",
        "kafka.producer.properties.\"message.timeout.ms\"=500", "commit.interval.ms=50"};
    if (!format.empty()) sets.push_back("kafka.dlq.format=\"" + format + "\"");
    t0 = wall_ns();
    {
        pipeline p(load_settings("", sets), make_seed_sink, seed_schema());
        p.start();
        EXPECT_TRUE(committed_to_end(b, group, 60s));
        p.stop();
        EXPECT_EQ(p.metrics().sinks[0].dead_lettered.get(), 1u);
        EXPECT_EQ(p.metrics().sinks[1].dead_lettered.get(), 1u);
        EXPECT_EQ(p.metrics().source.dead_lettered.get(), 3u);
    }
    t1 = wall_ns();
    return read_all(b, "task.updated.dlq");
}

std::int64_t iso(std::string_view s) {
    auto ns = parse_iso8601_ns(s);
    EXPECT_TRUE(ns.has_value()) << s;
    return ns.value_or(0);
}

}  // namespace

TEST(DeadLetter, EnvelopeRecordsAreExact) {
    std::int64_t t0 = 0, t1 = 0;
    const std::vector<record> dlq = run_failing("envelope", "envelope", t0, t1);
    ASSERT_EQ(dlq.size(), 5u);
    t0 -= t0 % 1'000'000;  // the record's times have millisecond precision
    simdjson::dom::parser parser;
    std::set<std::string> failed_sinks;
    for (const record& r : dlq) {
        simdjson::dom::object doc;
        ASSERT_EQ(parser.parse(r.value).get(doc), simdjson::SUCCESS) << r.value;
        std::size_t fields = 0;
        for (auto field : doc) {
            (void)field;
            ++fields;
        }
        EXPECT_EQ(std::string_view(doc["topic"]), "task.updated");
        EXPECT_EQ(std::string(std::string_view(doc["failure_reason"])), r.headers.at("sluice.failure_reason"));
        EXPECT_EQ(std::to_string(std::uint64_t(doc["attempt_count"])), r.headers.at("sluice.attempt_count"));
        EXPECT_EQ(r.headers.at("sluice.dlq.format"), "envelope");
        EXPECT_EQ(r.headers.at("sluice.source.topic"), "task.updated");
        const std::int64_t first = iso(std::string_view(doc["first_attempt"]));
        const std::int64_t last = iso(std::string_view(doc["last_attempt"]));
        EXPECT_LE(t0, first);
        EXPECT_LE(first, last);
        EXPECT_LE(last, t1);
        std::string why;
        if (r.key == "301") {
            // A valid event whose outputs failed: one dead letter per sink, naming it.
            const std::string sink = r.headers.at("sluice.sink");
            failed_sinks.insert(sink);
            const std::string topic = sink == "enrichment" ? "enriched.events" : "notifications.outbox";
            EXPECT_EQ(std::string(std::string_view(doc["failure_reason"])).rfind(sink + " output kafka:" + topic + " failed after 3 attempts: ", 0), 0u)
                << std::string_view(doc["failure_reason"]);
            EXPECT_EQ(std::uint64_t(doc["attempt_count"]), 3u);
            EXPECT_EQ(r.value.rfind("{\"event\":" + valid_task + ",", 0), 0u) << "the event itself: " << r.value;
            EXPECT_EQ(envelope_event(r.value, why), valid_task);
            EXPECT_LT(first, last) << "two resends after the first attempt, at least 20 ms... apart in the worst case";
            EXPECT_EQ(r.headers.at("traceparent"), traceparent);
            EXPECT_EQ(fields, 6u);
        } else {
            // Bad input: dead-lettered at decode, both times the decode's.
            EXPECT_EQ(std::uint64_t(doc["attempt_count"]), 1u);
            EXPECT_EQ(first, last);
            EXPECT_EQ(r.headers.count("sluice.sink"), 0u);
            if (r.key == "bad1") {
                EXPECT_EQ(std::string_view(doc["event_raw"]), not_json);
                EXPECT_EQ(doc["event_encoding"].error(), simdjson::NO_SUCH_FIELD);
                EXPECT_EQ(std::string(std::string_view(doc["failure_reason"])).rfind("invalid JSON", 0), 0u);
                EXPECT_EQ(fields, 6u);
            } else if (r.key == "bad2") {
                EXPECT_EQ(std::string_view(doc["event_raw"]), base64_encode(not_utf8));
                EXPECT_EQ(std::string_view(doc["event_encoding"]), "base64");
                EXPECT_EQ(envelope_event(r.value, why), not_utf8);
                EXPECT_EQ(fields, 7u);
            } else {
                ASSERT_EQ(r.key, "bad3");
                EXPECT_EQ(r.value.rfind("{\"event\":" + missing_task_id + ",", 0), 0u) << r.value;
                EXPECT_EQ(std::string_view(doc["failure_reason"]), "missing field: taskId");
                EXPECT_EQ(fields, 6u);
            }
        }
    }
    EXPECT_EQ(failed_sinks, (std::set<std::string>{"enrichment", "notification"}));
}

// The default format: the original bytes, one dead letter per failing sink.
TEST(DeadLetter, HeadersFormatOnePerFailingSink) {
    std::int64_t t0 = 0, t1 = 0;
    const std::vector<record> dlq = run_failing("headers", "", t0, t1);
    ASSERT_EQ(dlq.size(), 5u);
    std::set<std::string> failed_sinks;
    for (const record& r : dlq) {
        EXPECT_EQ(r.headers.at("sluice.dlq.format"), "headers");
        if (r.key == "301") {
            EXPECT_EQ(r.value, valid_task);
            failed_sinks.insert(r.headers.at("sluice.sink"));
            EXPECT_EQ(r.headers.at("sluice.attempt_count"), "3");
        }
        if (r.key == "bad2") EXPECT_EQ(r.value, not_utf8);
    }
    EXPECT_EQ(failed_sinks, (std::set<std::string>{"enrichment", "notification"}));
}
