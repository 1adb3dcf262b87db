// The whole pipeline against the embedded broker: flow, commits, dead letters, restart, stats.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "base/clock.hpp"
#include "binary_test_support.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "seed_events.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

struct generated {
    std::vector<record> records;
    std::map<std::string, std::uint64_t> per_type;
    std::uint64_t notifications = 0;  // derived independently from the event fields
};

// n seed events, plus the notifications the notification sink's rules imply
// for them (README.md, The sinks).
generated make_events(std::size_t n, std::uint64_t seed) {
    generated g;
    seed_generator gen(seed);
    seed_event ev;
    simdjson::dom::parser parser;
    for (std::size_t i = 0; i < n; ++i) {
        gen.next(ev, wall_ns());
        g.records.push_back({std::string(ev.topic), -1, 0, ev.key, ev.value});
        ++g.per_type[std::string(ev.type)];
        simdjson::dom::element doc = parser.parse(ev.value);
        if (ev.type == "user.created" || ev.type == "email.send" || ev.type == "notification.create") {
            ++g.notifications;
        } else if (ev.type.starts_with("task.")) {
            const std::int64_t creator = doc["creatorId"].get_int64(), actor = doc["actorId"].get_int64();
            std::int64_t assignee = -1;
            if (doc["assigneeId"].is_int64()) assignee = doc["assigneeId"].get_int64();
            if (creator != actor) ++g.notifications;
            if (assignee >= 0 && assignee != creator && assignee != actor) ++g.notifications;
        }
    }
    return g;
}

std::uint64_t routed_to(const generated& g, const std::string& sink) {
    const auto rules = seed_routes();
    std::uint64_t n = 0;
    for (const auto& [type, count] : g.per_type) {
        const auto it = rules.count(type) ? rules.find(type) : rules.find("default");
        for (const auto& s : it->second)
            if (s == sink) n += count;
    }
    return n;
}

struct test_env {
    std::string dir = temp_dir();
    std::unique_ptr<embedded_broker> broker;
    test_env() { broker = std::make_unique<embedded_broker>(1, load_settings("", {}).broker_topics()); }

    settings config(const std::string& group, std::vector<std::string> extra = {}) const {
        std::vector<std::string> sets = {
            "kafka.bootstrap.servers=\"" + broker->bootstraps() + "\"",
            "kafka.group.id=\"" + group + "\"",
            "stats.socket=\"" + dir + "/stats.sock\"",
            "sinks.enrichment.output=\"file:" + dir + "/enriched.jsonl\"",
            "sinks.notification.output=\"file:" + dir + "/notifications.jsonl\"",
            "sinks.analytics.output=\"file:" + dir + "/rollups.jsonl\"",
            "sinks.analytics.window.ms=3600000",
            "commit.interval.ms=50",
            // The embedded broker keeps a group rebalancing for session.timeout
            // minus 1 s after its last member left: keep restarts quick.
            "kafka.properties.\"session.timeout.ms\"=6000",
        };
        sets.insert(sets.end(), extra.begin(), extra.end());
        return test_settings(std::move(sets));
    }
};

}  // namespace

// N events produced -> every event processed by every sink it routes to,
// committed offsets equal the end offsets, outputs have the expected counts.
TEST(PipelineIntegration, EveryEventReachesItsSinksAndIsCommitted) {
    test_env env;
    const generated g = make_events(3000, 7);
    produce(env.broker->bootstraps(), g.records);
    const settings cfg = env.config("flow");
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), "flow", std::chrono::seconds(60)));
        p.stop();
        pipeline_metrics& m = p.metrics();
        EXPECT_EQ(m.source.consumed.get(), 3000u);
        EXPECT_EQ(m.source.decoded.get(), 3000u);
        EXPECT_EQ(m.source.dead_lettered.get(), 0u);
        EXPECT_EQ(m.sinks[0].processed.get(), routed_to(g, "enrichment"));
        EXPECT_EQ(m.sinks[1].processed.get(), routed_to(g, "notification"));
        EXPECT_EQ(m.sinks[2].processed.get(), routed_to(g, "analytics"));
        EXPECT_EQ(m.sinks[0].partial.get(), 0u) << "every referenced user was created earlier";
        // Every completed event has its in-pipeline and end-to-end latency
        // recorded once (here completed when the file output confirms it).
        std::uint64_t released = 0, in_pipeline = 0, end_to_end = 0;
        for (auto& r : m.releases) {
            released += r.released.get();
            in_pipeline += r.in_pipeline.snapshot().total;
            end_to_end += r.end_to_end.snapshot().total;
            EXPECT_LT(r.in_pipeline.snapshot().max, 60'000'000'000u);
            EXPECT_LT(r.end_to_end.snapshot().max, 120'000'000'000u);
        }
        EXPECT_EQ(released, 3000u) << "every seed event type routes to a sink";
        EXPECT_EQ(in_pipeline, released);
        EXPECT_EQ(end_to_end, released);
    }
    EXPECT_EQ(read_lines(env.dir + "/enriched.jsonl").size(), routed_to(g, "enrichment"));
    EXPECT_EQ(read_lines(env.dir + "/notifications.jsonl").size(), g.notifications);
}

TEST(PipelineIntegration, MalformedEventsLandInTheDeadLetterTopicWithReasons) {
    test_env env;
    std::vector<record> recs;
    const generated g = make_events(200, 3);
    for (const auto& r : g.records) recs.push_back(r);
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"{\"event_id\":\"x\",\"event_type\":", "invalid JSON: "},
        {"", "empty payload"},
        {"[1,2,3]", "not a JSON object: the payload is an array"},
        {"{\"event_type\":\"page.view\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"data\":{}}", "missing field: event_id"},
        {"{\"event_id\":\"b\",\"event_type\":\"page.view\",\"timestamp\":\"noon\",\"data\":{}}", "bad timestamp: timestamp is not ISO 8601"},
        {"{\"eventType\":\"task.updated\",\"taskId\":\"x\",\"actorId\":1,\"timestamp\":\"2024-01-01T00:00:00Z\"}", "missing field: creatorId"},
    };
    for (std::size_t i = 0; i < bad.size(); ++i)
        recs.insert(recs.begin() + static_cast<std::ptrdiff_t>(i * 30), record{"portfolio.analytics", 0, 0, "bad-" + std::to_string(i), bad[i].first});
    recs.push_back(record{"portfolio.analytics", 1, 0, "tombstone", "", true});
    produce(env.broker->bootstraps(), recs);
    {
        pipeline p(env.config("dlq"), make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), "dlq", std::chrono::seconds(60)));
        p.stop();
        EXPECT_EQ(p.metrics().source.dead_lettered.get(), bad.size() + 1);
        EXPECT_EQ(p.metrics().source.decoded.get(), 200u);
        EXPECT_EQ(p.metrics().commit.dlq_delivered.get(), bad.size() + 1);
    }
    const auto dlq = read_all(env.broker->bootstraps(), "portfolio.analytics.dlq");
    ASSERT_EQ(dlq.size(), bad.size() + 1);
    std::map<std::string, const record*> by_key;
    for (const auto& r : dlq) by_key[r.key] = &r;
    for (std::size_t i = 0; i < bad.size(); ++i) {
        const record* r = by_key.at("bad-" + std::to_string(i));
        EXPECT_EQ(r->value, bad[i].first) << "original bytes";
        EXPECT_EQ(r->headers.at("sluice.failure_reason").rfind(bad[i].second, 0), 0u) << r->headers.at("sluice.failure_reason");
        EXPECT_EQ(r->headers.at("sluice.source.topic"), "portfolio.analytics");
        EXPECT_EQ(r->headers.at("sluice.source.partition"), "0");
        EXPECT_EQ(r->headers.at("sluice.attempt_count"), "1");
    }
    EXPECT_EQ(by_key.at("tombstone")->headers.at("sluice.failure_reason"), "tombstone: null message value");
    EXPECT_EQ(by_key.at("tombstone")->headers.at("sluice.source.partition"), "1");
    // Offsets recorded in the headers are the real positions of the bad events.
    const auto originals = read_all(env.broker->bootstraps(), "portfolio.analytics");
    for (const auto& r : dlq) {
        bool found = false;
        for (const auto& o : originals)
            found |= o.key == r.key && std::to_string(o.offset) == r.headers.at("sluice.source.offset") &&
                     std::to_string(o.partition) == r.headers.at("sluice.source.partition");
        EXPECT_TRUE(found) << r.key;
    }
}

// A stopped and restarted sluice resumes from its committed offsets: nothing
// lost, and after a graceful stop nothing processed twice.
TEST(PipelineIntegration, RestartResumesFromCommittedOffsets) {
    test_env env;
    const generated first = make_events(2000, 11);
    produce(env.broker->bootstraps(), first.records);
    const settings cfg = env.config("restart");
    std::uint64_t run1 = 0;
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(wait_until([&] { return p.metrics().source.consumed.get() >= 500; }, std::chrono::seconds(60)));
        p.stop();
        run1 = p.metrics().source.consumed.get();
    }
    const generated second = make_events(1000, 12);
    produce(env.broker->bootstraps(), second.records);
    std::uint64_t run2 = 0;
    {
        pipeline p(cfg, make_seed_sink, seed_schema());
        p.start();
        ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), "restart", std::chrono::seconds(60)));
        p.stop();
        run2 = p.metrics().source.consumed.get();
    }
    EXPECT_EQ(run1 + run2, 3000u) << "graceful stop commits everything processed: no loss, no duplicates";
    EXPECT_EQ(read_lines(env.dir + "/enriched.jsonl").size(), routed_to(first, "enrichment") + routed_to(second, "enrichment"));
}

// A tiny pool makes the source wait for slots and pause its partitions again
// and again: nothing is dropped, everything is committed. Inline sinks hand
// a slot back as soon as they return, so there the pool never runs dry: a
// tiny bound of unconfirmed events makes the source wait instead, for the
// file outputs' confirmations.
TEST(PipelineIntegration, BackpressurePausesAndLosesNothing) {
    test_env env;
    const generated g = make_events(3000, 21);
    produce(env.broker->bootstraps(), g.records);
    std::vector<std::string> tiny = {"pipeline.ring.size=8", "pipeline.pause.after.ms=0"};
    if (sinks_inline(env.config("backpressure", tiny))) tiny.push_back("pipeline.unconfirmed.max.events=8");
    pipeline p(env.config("backpressure", tiny), make_seed_sink, seed_schema());
    p.start();
    ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), "backpressure", std::chrono::seconds(90)));
    p.stop();
    pipeline_metrics& m = p.metrics();
    EXPECT_GT(m.source.pauses.get(), 0u);
    EXPECT_EQ(m.source.pauses.get(), m.source.resumes.get());
    // Each event once: librdkafka's redeliveries after resume (see
    // kafka_source::redelivered) are skipped, not processed again.
    EXPECT_EQ(m.source.consumed.get(), 3000u) << m.source.redelivered.get() << " redeliveries skipped, "
                                              << m.source.rebalances.get() << " rebalances";
    EXPECT_EQ(m.sinks[0].processed.get(), routed_to(g, "enrichment"));
    EXPECT_EQ(m.sinks[1].processed.get(), routed_to(g, "notification"));
    EXPECT_EQ(m.sinks[2].processed.get(), routed_to(g, "analytics"));
    EXPECT_EQ(read_lines(env.dir + "/notifications.jsonl").size(), g.notifications);
}

// Sinks woken only for more events than there are: they hear of the events
// when the source finds nothing more to poll; every event is processed and
// committed.
namespace {
// Through the broker with these settings, every event reaches each of its
// sinks once and is committed.
void expect_every_event_once(const char* group, std::uint64_t seed, const std::vector<std::string>& overrides) {
    test_env env;
    const generated g = make_events(3000, seed);
    produce(env.broker->bootstraps(), g.records);
    pipeline p(env.config(group, overrides), make_seed_sink, seed_schema());
    p.start();
    ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), group, std::chrono::seconds(60)));
    p.stop();
    pipeline_metrics& m = p.metrics();
    EXPECT_EQ(m.source.consumed.get(), 3000u);
    EXPECT_EQ(m.sinks[0].processed.get(), routed_to(g, "enrichment"));
    EXPECT_EQ(m.sinks[1].processed.get(), routed_to(g, "notification"));
    EXPECT_EQ(m.sinks[2].processed.get(), routed_to(g, "analytics"));
    EXPECT_EQ(read_lines(env.dir + "/notifications.jsonl").size(), g.notifications);
}
}  // namespace

TEST(PipelineIntegration, WakingSinksForBigBatchesLosesNothing) {
    expect_every_event_once("wake-batches", 33, {"pipeline.wake.after.events=1000000"});
}

// The Kafka source polls without blocking for a while before it parks.
TEST(PipelineIntegration, SourceSpinningBeforeItParksLosesNothing) {
    expect_every_event_once("source-spins", 34, {"threads.source.wait=\"spin-then-park\"", "threads.source.spin=5000"});
}

TEST(PipelineIntegration, StatsSocketAnswersAllFourCommands) {
    test_env env;
    produce(env.broker->bootstraps(), make_events(500, 5).records);
    const int port = free_loopback_port();
    const settings cfg = env.config("stats", {"stats.http=\"127.0.0.1:" + std::to_string(port) + "\""});
    if (!sink_placement_under_test().empty()) {
        EXPECT_EQ(to_string(cfg.sinks), sink_placement_under_test());
    }
    const std::string placement = sinks_inline(cfg) ? "inline" : "threads";
    pipeline p(cfg, make_seed_sink, seed_schema());
    p.start();
    ASSERT_TRUE(committed_to_end(env.broker->bootstraps(), "stats", std::chrono::seconds(60)));
    const std::string sock = env.dir + "/stats.sock";
    struct stat st{};
    ASSERT_EQ(::stat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const std::string stats = ask_stats(sock, "stats");
    ASSERT_GE(stats.size(), 2u);
    EXPECT_EQ(stats.substr(stats.size() - 2), "\n\n");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(stats.substr(0, stats.size() - 2)).get(doc), simdjson::SUCCESS) << stats;
    EXPECT_EQ(std::uint64_t(doc["source"]["consumed"]), 500u);
    EXPECT_EQ(std::uint64_t(doc["latency_ns"]["decode"]["count"]), 500u);
    EXPECT_EQ(std::uint64_t(doc["totals"]["lag"]), 0u);
    EXPECT_EQ(simdjson::dom::array(doc["partitions"]).size(), 24u);
    EXPECT_EQ(std::string_view(doc["sink_placement"]), placement);
    // Sinks on threads wait in rings; inline ones take each event at once.
    for (const char* sink : {"enrichment", "notification", "analytics"}) {
        simdjson::dom::element e;
        EXPECT_EQ(doc["latency_ns"][std::string("queue_wait.") + sink].get(e) == simdjson::SUCCESS, placement == "threads") << sink;
        EXPECT_EQ(doc["latency_ns"][std::string("process.") + sink].get(e), simdjson::SUCCESS) << sink;
    }

    const std::string metrics = ask_stats(sock, "metrics");
    EXPECT_NE(metrics.find("# TYPE sluice_events_consumed_total counter\nsluice_events_consumed_total 500\n"), std::string::npos);
    EXPECT_NE(metrics.find("sluice_latency_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 500\n"), std::string::npos);
    EXPECT_NE(metrics.find("sluice_partition_lag{topic=\"task.updated\",partition=\"0\"} 0\n"), std::string::npos);
    EXPECT_NE(metrics.find("\nsluice_sink_placement{placement=\"" + placement + "\"} 1\n"), std::string::npos);
    EXPECT_EQ(metrics.find("\nsluice_ring_depth{sink=\"analytics\"} ") != std::string::npos, placement == "threads");

    const std::string hist = ask_stats(sock, "hist decode");
    EXPECT_EQ(hist.rfind("# decode latency in ns: count=500 ", 0), 0u) << hist;
    EXPECT_NE(hist.find("\n99.00 "), std::string::npos);
    EXPECT_EQ(ask_stats(sock, "hist nope").rfind("error: unknown histogram 'nope'", 0), 0u);
    EXPECT_EQ(ask_stats(sock, "hist queue_wait.analytics").rfind(placement == "inline" ? "error: no histogram 'queue_wait.analytics': the sinks run inline" : "# queue_wait.analytics latency in ns: count=", 0), 0u);
    EXPECT_EQ(ask_stats(sock, "help").rfind("commands", 0), 0u);
    EXPECT_EQ(ask_stats(sock, "bogus"), "error: unknown command 'bogus' (try help)\n\n");

    const std::string http = http_get(port, "/metrics");
    EXPECT_EQ(http.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << http.substr(0, 200);
    EXPECT_NE(http.find("sluice_events_consumed_total 500\n"), std::string::npos);
    EXPECT_NE(http_get(port, "/stats").find("\"consumed\":500"), std::string::npos);
    EXPECT_EQ(http_get(port, "/nope").rfind("HTTP/1.1 404 Not Found", 0), 0u);
    p.stop();
}
