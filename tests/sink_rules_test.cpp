// The sinks' domain rules, end to end through the embedded broker with file outputs.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

std::string user(int id, const std::string& name) {
    return R"({"eventType":"user.created","userId":)" + std::to_string(id) +
           R"(,"timestamp":"2025-08-25T22:30:57.123Z","payload":{"email":")" + name + R"(@example.com","username":")" + name + "\"}}";
}
std::string task(const std::string& type, int task_id, int actor, int creator, const std::string& assignee,
                 const std::string& ts = "2025-08-25T22:00:05.574Z") {
    return R"({"eventType":")" + type + R"(","taskId":)" + std::to_string(task_id) + R"(,"teamId":1,"actorId":)" +
           std::to_string(actor) + R"(,"creatorId":)" + std::to_string(creator) + R"(,"assigneeId":)" + assignee +
           R"(,"timestamp":")" + ts + R"(","payload":{"title":"T)" + std::to_string(task_id) + "\"}}";
}
std::string portfolio(const std::string& id, const std::string& type, const std::string& ts, const std::string& data) {
    return R"({"event_id":")" + id + R"(","event_type":")" + type + R"(","timestamp":")" + ts +
           R"(","source":"backend","version":"1.0","data":)" + data + "}";
}

std::vector<std::string> field_values(const std::string& path, const char* field) {
    std::vector<std::string> out;
    simdjson::dom::parser parser;
    for (const auto& l : read_lines(path)) {
        simdjson::dom::element doc = parser.parse(l);
        std::string_view v;
        if (doc[field].get(v) == simdjson::SUCCESS) out.emplace_back(v);
        else out.emplace_back("null");
    }
    return out;
}

}  // namespace

TEST(SinkRules, DirectoryJoinsRecipientsDedupAndWindows) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    // The directory is read to its end before any task event is handled, so
    // users created on other partitions than the tasks still join.
    produce(b, {{"user.created", 2, 0, "1", user(1, "ada")}, {"user.created", 1, 0, "2", user(2, "bob")},
                {"user.created", 0, 0, "3", user(3, "cy")}});
    // Everything else on one partition, so the analytics sink sees it in this
    // order (the pipeline routes by event type, not by topic).
    const std::string t = "portfolio.analytics";
    produce(b, {
        // creator=actor=1, assignee 2: only 2 is told.
        {t, 0, 0, "10", task("task.updated", 10, 1, 1, "2")},
        // actor 2 (the assignee), creator 1: only 1 is told.
        {t, 0, 0, "11", task("task.updated", 11, 2, 1, "2")},
        // actor 3, creator 1, assignee 1 (= creator): 1 is told once.
        {t, 0, 0, "12", task("task.completed", 12, 3, 1, "1")},
        // unassigned, actor = creator: nobody.
        {t, 0, 0, "13", task("task.completed", 13, 1, 1, "null")},
        // creator 99 is unknown: told, but partial.
        {t, 0, 0, "14", task("task.updated", 14, 1, 99, "null")},
        // the same event twice (replayed): one notification.
        {t, 0, 0, "2", portfolio("n-1", "email.send", "2025-08-25T22:00:00Z", R"({"recipient_id":"2","subject":"hi"})")},
        {t, 0, 0, "2", portfolio("n-1", "email.send", "2025-08-25T22:00:00Z", R"({"recipient_id":"2","subject":"hi"})")},
        // analytics, one window [22:00:00, 22:00:10) then a later event closes it.
        {t, 0, 0, "a", portfolio("v1", "article.view", "2025-08-25T22:00:01Z", R"({"article_id":"a-1","user_id":"1"})")},
        {t, 0, 0, "a", portfolio("v2", "article.view", "2025-08-25T22:00:02Z", R"({"article_id":"a-1","user_id":"2"})")},
        {t, 0, 0, "a", portfolio("v3", "article.view", "2025-08-25T22:00:03Z", R"({"article_id":"a-2","user_id":"2"})")},
        {t, 0, 0, "a", portfolio("v4", "project.view", "2025-08-25T22:00:04Z", R"({"project_id":"p-1","user_id":"3"})")},
        // "002" is a user of its own, not user 2.
        {t, 0, 0, "a", portfolio("v6", "article.view", "2025-08-25T22:00:05Z", R"({"article_id":"a-3","user_id":"002"})")},
        {t, 0, 0, "a", portfolio("v5", "page.view", "2025-08-25T22:00:30Z", R"({"path":"/","user_id":"3"})")},
    });
    const settings cfg = load_settings("", {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"rules\"",
        "stats.socket=\"" + dir + "/s.sock\"",
        "sinks.enrichment.output=\"file:" + dir + "/enriched.jsonl\"",
        "sinks.notification.output=\"file:" + dir + "/notifications.jsonl\"",
        "sinks.analytics.output=\"file:" + dir + "/rollups.jsonl\"",
        "sinks.analytics.window.ms=10000", "commit.interval.ms=50",
        // Users only feed the directory and welcomes here, so the window holds
        // exactly the events of one partition, in order.
        "routing.\"user.created\"=[\"notification\"]"});
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        // Every event each sink is routed, not only the analytics partition's:
        // the user.created partitions may be fetched after it, and a stop
        // before they are consumed leaves their welcomes for the next run.
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[2].processed.get() == 13; }, std::chrono::seconds(60)));
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[1].processed.get() == 10; }, std::chrono::seconds(60)))
            << "3 users, 5 tasks, 2 email.send; processed " << p.metrics().sinks[1].processed.get();
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[0].processed.get() == 5; }, std::chrono::seconds(60)))
            << "5 tasks; processed " << p.metrics().sinks[0].processed.get();
        ASSERT_TRUE(wait_until([&] { return read_lines(dir + "/rollups.jsonl").size() == 1; }, std::chrono::seconds(10)));
        p.stop();
        EXPECT_EQ(p.metrics().sinks[1].deduplicated.get(), 1u);
    }

    // Notifications: welcome x3, task 10 -> 2, task 11 -> 1, task 12 -> 1, task 14 -> 99, email.send -> 2.
    const auto recipients = field_values(dir + "/notifications.jsonl", "recipient_id");
    const auto kinds = field_values(dir + "/notifications.jsonl", "kind");
    std::multiset<std::string> got;
    for (std::size_t i = 0; i < recipients.size(); ++i) got.insert(kinds[i] + ">" + recipients[i]);
    EXPECT_EQ(got, (std::multiset<std::string>{"welcome>1", "welcome>2", "welcome>3", "task.updated>2",
                                               "task.updated>1", "task.completed>1", "task.updated>99",
                                               "email.send>2"}));
    const auto emails = field_values(dir + "/notifications.jsonl", "email");
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        if (recipients[i] == "2") {
            EXPECT_EQ(emails[i], "bob@example.com");
        }
        if (recipients[i] == "99") {
            EXPECT_EQ(emails[i], "null");
        }
    }

    // Enrichment: five task events, joined against the directory.
    simdjson::dom::parser parser;
    int tasks = 0;
    for (const auto& line : read_lines(dir + "/enriched.jsonl")) {
        simdjson::dom::element doc = parser.parse(line);
        std::string_view type = doc["event_type"];
        if (!type.starts_with("task.")) continue;
        ++tasks;
        std::string_view entity = doc["entity_id"];
        if (entity == "10") {
            EXPECT_EQ(std::string_view(doc["creator"]["email"]), "ada@example.com");
            EXPECT_EQ(std::string_view(doc["assignee"]["username"]), "bob");
            EXPECT_FALSE(bool(doc["partial"]));
        }
        if (entity == "14") {
            EXPECT_TRUE(bool(doc["partial"]));
        }
    }
    EXPECT_EQ(tasks, 5);

    // Analytics: the first window closed when the 22:00:30 event arrived; the
    // window that event opened was emitted at shutdown.
    const auto rollups = read_lines(dir + "/rollups.jsonl");
    ASSERT_EQ(rollups.size(), 2u);
    simdjson::dom::element last = parser.parse(rollups[1]);
    EXPECT_EQ(std::string_view(last["window_start"]), "2025-08-25T22:00:30.000Z");
    EXPECT_EQ(std::string_view(last["closed_by"]), "shutdown");
    EXPECT_EQ(std::uint64_t(last["events"]), 1u);
    simdjson::dom::element r = parser.parse(rollups[0]);
    EXPECT_EQ(std::string_view(r["window_start"]), "2025-08-25T22:00:00.000Z");
    EXPECT_EQ(std::string_view(r["closed_by"]), "window end");
    EXPECT_EQ(std::uint64_t(r["events"]), 12u);
    EXPECT_EQ(std::uint64_t(r["late_events"]), 0u);
    EXPECT_EQ(std::uint64_t(r["counts"]["task.updated"]), 3u);
    EXPECT_EQ(std::uint64_t(r["counts"]["article.view"]), 4u);
    EXPECT_EQ(std::uint64_t(r["unique_users"]), 4u) << "users 1, 2, 3 and 002";
    EXPECT_EQ(std::string_view(r["top_articles"].at(0)["id"]), "a-1");
    EXPECT_EQ(std::uint64_t(r["top_articles"].at(0)["views"]), 2u);
    EXPECT_EQ(std::string_view(r["top_projects"].at(0)["id"]), "p-1");
}

// An output that keeps failing: retries with backoff, then the event goes to
// the dead-letter topic with the reason; the offset still advances.
TEST(SinkRules, FailingOutputRetriesThenDeadLetters) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    // The broker refuses the notification output topic for good.
    rd_kafka_mock_topic_set_error(broker.cluster(), "notifications.outbox", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    produce(b, {{"user.created", 0, 0, "1", user(1, "ada")}});
    produce(b, {{"task.updated", 0, 0, "20", task("task.updated", 20, 1, 1, "2")},
                {"task.updated", 0, 0, "21", task("task.updated", 21, 2, 1, "null")}});
    const settings cfg = load_settings("", {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"failing\"",
        "stats.socket=\"" + dir + "/s.sock\"",
        "sinks.enrichment.output=\"none\"", "sinks.analytics.output=\"none\"",
        "sinks.retry.max.attempts=3", "sinks.retry.backoff.ms=20",
        "kafka.producer.properties.\"message.timeout.ms\"=500", "commit.interval.ms=50"});
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        // user.created (welcome) and both task events each have one notification.
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[1].dead_lettered.get() == 3; }, std::chrono::seconds(60)));
        ASSERT_TRUE(wait_until([&] { return p.metrics().commit.dlq_delivered.get() == 3; }, std::chrono::seconds(30)));
        p.stop();
        EXPECT_EQ(p.metrics().sinks[1].retried.get(), 6u);  // 2 retries x 3 events
        EXPECT_EQ(p.metrics().sinks[1].failed.get(), 3u);
        EXPECT_EQ(p.metrics().sinks[1].processed.get(), 0u);
    }
    const auto dlq = read_all(b, "task.updated.dlq");
    ASSERT_EQ(dlq.size(), 2u);
    for (const auto& r : dlq) {
        EXPECT_EQ(r.headers.at("sluice.attempt_count"), "3");
        EXPECT_EQ(r.headers.at("sluice.failure_reason").rfind("notification output kafka:notifications.outbox failed after 3 attempts: ", 0), 0u)
            << r.headers.at("sluice.failure_reason");
    }
    const auto committed = committed_offsets(b, "failing", {"task.updated"});
    EXPECT_EQ(committed.at({"task.updated", 0}), 2);
}

// sinks.analytics.window.ms is reloadable: the analytics sink takes the new
// length (sink::reload) when it opens its next window; the open one keeps its own.
TEST(SinkRules, AReloadedWindowLengthAppliesFromTheNextWindow) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    const std::string t = "portfolio.analytics";
    std::vector<std::string> sets = {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"window-reload\"",
        "stats.socket=\"" + dir + "/s.sock\"", "sinks.enrichment.output=\"none\"", "sinks.notification.output=\"none\"",
        "sinks.analytics.output=\"file:" + dir + "/rollups.jsonl\"", "sinks.analytics.window.ms=10000"};
    const settings cfg = load_settings("", sets);
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        produce(b, {{t, 0, 0, "a", portfolio("v1", "page.view", "2025-08-25T22:00:01Z", R"({"path":"/","user_id":"1"})")}});
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[2].processed.get() == 1; }, std::chrono::seconds(60)));
        sets.back() = "sinks.analytics.window.ms=60000";
        p.reload(load_settings("", sets));
        // Closes [22:00:00, 22:00:10) and opens a 60 s window, which 22:00:50 is in.
        produce(b, {{t, 0, 0, "a", portfolio("v2", "page.view", "2025-08-25T22:00:15Z", R"({"path":"/","user_id":"1"})")},
                    {t, 0, 0, "a", portfolio("v3", "page.view", "2025-08-25T22:00:50Z", R"({"path":"/","user_id":"1"})")}});
        ASSERT_TRUE(wait_until([&] { return p.metrics().sinks[2].processed.get() == 3; }, std::chrono::seconds(60)));
        p.stop();
    }
    simdjson::dom::parser parser;
    const auto rollups = read_lines(dir + "/rollups.jsonl");
    ASSERT_EQ(rollups.size(), 2u);
    simdjson::dom::element first = parser.parse(rollups[0]);
    EXPECT_EQ(std::string_view(first["window_end"]), "2025-08-25T22:00:10.000Z");
    EXPECT_EQ(std::uint64_t(first["events"]), 1u);
    simdjson::dom::element second = parser.parse(rollups[1]);
    EXPECT_EQ(std::string_view(second["window_start"]), "2025-08-25T22:00:00.000Z");
    EXPECT_EQ(std::string_view(second["window_end"]), "2025-08-25T22:01:00.000Z");
    EXPECT_EQ(std::string_view(second["closed_by"]), "shutdown");
    EXPECT_EQ(std::uint64_t(second["events"]), 2u);
}
