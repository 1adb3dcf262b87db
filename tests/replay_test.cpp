// The whole pipeline fed by the replay source: every line once, dead letters with line numbers, local commits.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "delivery_audit.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"
#include "source/replay_source.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

struct replay_file {
    std::string path;
    std::vector<produced_event> good;  // coordinates: ("replay", 0, line number)
    std::map<std::int64_t, std::string> bad;  // line number -> expected reason prefix
    std::map<std::int64_t, std::string> lines;
    std::int64_t count = 0;
};

std::string type_of(const std::string& json) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.parse(json);
    std::string_view t;
    if (doc["event_type"].get(t) && doc["eventType"].get(t)) return "";
    return std::string(t);
}

// n seed events, a task whose users are created only at the end of the file,
// and malformed lines at known places.
replay_file make_file(const std::string& dir, std::size_t n, std::size_t max_payload) {
    replay_file f;
    f.path = dir + "/capture.ndjson";
    std::ofstream out(f.path, std::ios::binary);
    auto add = [&](const std::string& line, const std::string& bad_reason = "") {
        ++f.count;
        out << line << '\n';
        f.lines[f.count] = line;
        if (bad_reason.empty()) {
            produced_event e;
            e.at = {replay_source::topic, 0, f.count};
            e.type = type_of(line);
            f.good.push_back(e);
        }
        else f.bad[f.count] = bad_reason;
    };
    add(R"({"eventType":"task.updated","taskId":1,"teamId":2,"actorId":555,"creatorId":555,"assigneeId":556,"timestamp":"2026-01-01T00:00:00Z","payload":{}})");
    const auto recs = seed_records(n, 21);
    for (std::size_t i = 0; i < recs.size(); ++i) {
        add(recs[i].value);
        if (i == 10) add("", "empty payload");
        if (i == 500) add("[1,2,3]", "not a JSON object: the payload is an array");
        if (i == 900) add(R"({"event_type":"page.view","timestamp":"2024-01-01T00:00:00Z","data":{}})", "missing field: event_id");
        if (i == 1200) {
            const std::string big = "{\"event_id\":\"big\",\"pad\":\"" + std::string(max_payload * 2, 'z') + "\"}";
            add(big, "payload too large: " + std::to_string(big.size()) + " bytes (max " + std::to_string(max_payload) + ")");
        }
    }
    add(R"({"eventType":"user.created","userId":555,"timestamp":"2026-01-01T00:00:00Z","payload":{"email":"a@example.com","username":"a"}})");
    // The type escaped: the directory's pre-read of the file must not pass it over.
    add(R"({"eventType":"user\u002ecreated","userId":556,"timestamp":"2026-01-01T00:00:00Z","payload":{"email":"b@example.com","username":"b"}})");
    return f;
}

struct test_env {
    std::string dir = temp_dir();
    std::unique_ptr<embedded_broker> broker;
    test_env() {
        settings s = load_settings("", {"source=\"replay:/dev/null\""});
        broker = std::make_unique<embedded_broker>(1, s.broker_topics());
    }
    settings config(const std::string& file, std::vector<std::string> extra = {}) const {
        std::vector<std::string> sets = {
            "source=\"replay:" + file + "\"",
            "kafka.bootstrap.servers=\"" + broker->bootstraps() + "\"",
            "stats.socket=\"" + dir + "/stats.sock\"",
            "sinks.enrichment.output=\"file:" + dir + "/enriched.jsonl\"",
            "sinks.notification.output=\"file:" + dir + "/notifications.jsonl\"",
            "sinks.analytics.output=\"file:" + dir + "/rollups.jsonl\"",
            "pipeline.max.payload.bytes=4096",
            "commit.interval.ms=50",
        };
        sets.insert(sets.end(), extra.begin(), extra.end());
        return load_settings("", sets);
    }
};

}  // namespace

TEST(Replay, EveryLineReachesItsSinksOnceAndTheWatermarkReachesTheEnd) {
    test_env env;
    const replay_file f = make_file(env.dir, 3000, 4096);
    auto log = std::make_shared<sink_log>();
    {
        pipeline p(env.config(f.path), logging_seed_sinks(log), seed_schema());
        p.start();
        partition_view& v = p.metrics().partitions[0];
        ASSERT_TRUE(wait_until([&] { return v.committed_offset.load() == f.count + 1; }, std::chrono::seconds(60)))
            << "committed " << v.committed_offset.load() << " of " << f.count + 1;
        EXPECT_EQ(v.topic(), "replay");
        EXPECT_EQ(v.end_at_assign.load(), f.count + 1);
        p.stop();
        pipeline_metrics& m = p.metrics();
        EXPECT_EQ(m.source.consumed.get(), static_cast<std::uint64_t>(f.count));
        EXPECT_EQ(m.source.decoded.get(), f.good.size());
        EXPECT_EQ(m.source.dead_lettered.get(), f.bad.size());
        EXPECT_EQ(m.sinks[0].partial.get(), 0u) << "users created later in the file are known from the start";
        EXPECT_EQ(v.committed_offset.load(), f.count + 1);
        EXPECT_FALSE(p.source_failed());
        // Every line is completed once, through a sink or its dead letter,
        // with its in-pipeline latency; a file has no timestamps to take
        // end-to-end latency from.
        std::uint64_t released = 0, in_pipeline = 0, end_to_end = 0;
        for (auto& r : m.releases) {
            released += r.released.get();
            in_pipeline += r.in_pipeline.snapshot().total;
            end_to_end += r.end_to_end.snapshot().total;
        }
        EXPECT_EQ(released, static_cast<std::uint64_t>(f.count));
        EXPECT_EQ(in_pipeline, released);
        EXPECT_EQ(end_to_end, 0u);
    }
    for (const std::string sink : {"enrichment", "notification", "analytics"}) {
        const audit a = check(routed_to(f.good, sink), log->of(sink));
        EXPECT_GT(a.expected, 0u) << sink;
        EXPECT_EQ(a.missing, 0u) << sink << ": first missing " << a.first_missing;
        EXPECT_EQ(a.duplicates, 0u) << sink;
    }
    // The enrichment output names each line as its source.
    const sightings enriched = enriched_sources(read_lines(env.dir + "/enriched.jsonl"));
    const audit a = check(routed_to(f.good, "enrichment"), enriched);
    EXPECT_EQ(a.missing, 0u) << a.first_missing;
    EXPECT_EQ(a.duplicates, 0u);

    // Dead letters: the original line (cut to the payload limit when longer),
    // its line number as offset, and why.
    const auto dlq = read_all(env.broker->bootstraps(), "replay.dlq");
    ASSERT_EQ(dlq.size(), f.bad.size());
    for (const auto& r : dlq) {
        const std::int64_t line = std::stoll(r.headers.at("sluice.source.offset"));
        ASSERT_TRUE(f.bad.count(line)) << "dead letter for line " << line << " which is fine";
        EXPECT_EQ(r.headers.at("sluice.failure_reason"), f.bad.at(line));
        EXPECT_EQ(r.headers.at("sluice.source.topic"), "replay");
        EXPECT_EQ(r.headers.at("sluice.source.partition"), "0");
        EXPECT_EQ(r.value, f.lines.at(line).substr(0, 4096));
    }
}

// Sinks woken only for more events than the file holds: they hear of them
// at its end, and every line reaches each of its sinks once.
TEST(Replay, WakingSinksForBigBatchesLosesNothing) {
    test_env env;
    const replay_file f = make_file(env.dir, 3000, 4096);
    auto log = std::make_shared<sink_log>();
    {
        pipeline p(env.config(f.path, {"pipeline.wake.after.events=1000000"}), logging_seed_sinks(log), seed_schema());
        p.start();
        partition_view& v = p.metrics().partitions[0];
        ASSERT_TRUE(wait_until([&] { return v.committed_offset.load() == f.count + 1; }, std::chrono::seconds(60)))
            << "committed " << v.committed_offset.load() << " of " << f.count + 1;
        p.stop();
        EXPECT_EQ(p.metrics().source.consumed.get(), static_cast<std::uint64_t>(f.count));
    }
    for (const std::string sink : {"enrichment", "notification", "analytics"}) {
        const audit a = check(routed_to(f.good, sink), log->of(sink));
        EXPECT_GT(a.expected, 0u) << sink;
        EXPECT_EQ(a.missing, 0u) << sink << ": first missing " << a.first_missing;
        EXPECT_EQ(a.duplicates, 0u) << sink;
    }
}

// Stopped in the middle of the file: the final commit covers exactly the
// lines handed to the sinks, each of which they finished.
TEST(Replay, StoppedMidFileCommitsExactlyWhatWasDispatched) {
    test_env env;
    const replay_file f = make_file(env.dir, 60000, 4096);
    auto log = std::make_shared<sink_log>();
    pipeline_metrics* m = nullptr;
    std::int64_t committed = 0;
    std::uint64_t consumed = 0;
    {
        // A slow analytics sink keeps the replay from finishing first.
        pipeline p(env.config(f.path, {"pipeline.ring.size=64"}),
                   logging_seed_sinks(log, [](std::string_view sink) {
                       if (sink == "analytics") std::this_thread::sleep_for(std::chrono::microseconds(50));
                   }),
                   seed_schema());
        m = &p.metrics();
        p.start();
        ASSERT_TRUE(wait_until([&] { return m->source.consumed.get() > 2000; }, std::chrono::seconds(60)));
        p.stop();
        consumed = m->source.consumed.get();
        committed = m->partitions[0].committed_offset.load();
        ASSERT_LT(consumed, static_cast<std::uint64_t>(f.count)) << "the replay finished before it was stopped";
    }
    EXPECT_EQ(committed, static_cast<std::int64_t>(consumed) + 1);
    std::vector<produced_event> dispatched;
    for (const auto& e : f.good)
        if (e.at.offset < committed) dispatched.push_back(e);
    for (const std::string sink : {"enrichment", "notification", "analytics"}) {
        const sightings seen = log->of(sink);
        const audit a = check(routed_to(dispatched, sink), seen);
        EXPECT_EQ(a.missing, 0u) << sink << ": first missing " << a.first_missing;
        EXPECT_EQ(a.duplicates, 0u) << sink;
        EXPECT_EQ(seen.size(), a.expected) << sink << " saw lines past the commit";
    }
}

// Events routed to no sink are done at once, interleaved with routed ones;
// the commit tracker takes each in order and reports none as "dispatch out
// of order" on stderr.
TEST(Replay, EventsRoutedNowhereAreDoneAtOnce) {
    test_env env;
    const replay_file f = make_file(env.dir, 3000, 4096);
    auto log = std::make_shared<sink_log>();
    ::testing::internal::CaptureStderr();
    {
        pipeline p(env.config(f.path, {"routing.\"page.view\"=[]", "routing.default=[]"}), logging_seed_sinks(log), seed_schema());
        p.start();
        partition_view& v = p.metrics().partitions[0];
        EXPECT_TRUE(wait_until([&] { return v.committed_offset.load() == f.count + 1; }, std::chrono::seconds(60)))
            << "committed " << v.committed_offset.load() << " of " << f.count + 1;
        p.stop();
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.find("out of order"), std::string::npos) << err.substr(0, 300);
    std::vector<produced_event> routed;
    std::size_t page_views = 0;
    for (const auto& e : f.good) {
        if (e.type == "page.view") ++page_views;
        else routed.push_back(e);
    }
    ASSERT_GT(page_views, 0u);
    const audit a = check(routed_to(routed, "analytics"), log->of("analytics"));
    EXPECT_EQ(a.missing, 0u) << a.first_missing;
    EXPECT_EQ(log->of("analytics").size(), a.expected) << "page views reached analytics";
}

// With outputs `none` a sink completes each event inside process(): its
// latency is stamped there, once per event, like a delivery's at the end of
// a batch.
TEST(Replay, LatencyIsRecordedOncePerEventWithoutOutputs) {
    test_env env;
    const replay_file f = make_file(env.dir, 3000, 4096);
    auto log = std::make_shared<sink_log>();
    {
        pipeline p(env.config(f.path, {"sinks.enrichment.output=none", "sinks.notification.output=none",
                                       "sinks.analytics.output=none"}),
                   logging_seed_sinks(log), seed_schema());
        p.start();
        partition_view& v = p.metrics().partitions[0];
        ASSERT_TRUE(wait_until([&] { return v.committed_offset.load() == f.count + 1; }, std::chrono::seconds(60)));
        p.stop();
        std::uint64_t released = 0, in_pipeline = 0, max_ns = 0;
        for (auto& r : p.metrics().releases) {
            released += r.released.get();
            in_pipeline += r.in_pipeline.snapshot().total;
            max_ns = std::max(max_ns, r.in_pipeline.snapshot().max);
        }
        EXPECT_EQ(released, static_cast<std::uint64_t>(f.count));
        EXPECT_EQ(in_pipeline, released);
        EXPECT_GT(max_ns, 0u);
        EXPECT_LT(max_ns, 60'000'000'000u);
    }
}

// The bootstrap file feeds the directory before the replay file does: its
// user.created lines (one with its type escaped) join, the rest is passed over.
TEST(Replay, UsersComeFromTheBootstrapFileToo) {
    test_env env;
    const std::string replay = env.dir + "/tasks.ndjson";
    std::ofstream(replay)
        << R"({"eventType":"task.updated","taskId":9,"teamId":2,"actorId":901,"creatorId":901,"assigneeId":902,"timestamp":"2026-01-01T00:00:00Z","payload":{}})"
        << "\n";
    const std::string users = env.dir + "/users.jsonl";
    std::ofstream(users)
        << R"({"eventType":"user.created","userId":901,"timestamp":"2026-01-01T00:00:00Z","payload":{"email":"c@example.com","username":"c"}})"
        << "\n{\"not\":\"a user\"}\n\n"
        << R"({"eventType":"user\u002ecreated","userId":902,"timestamp":"2026-01-01T00:00:00Z","payload":{"email":"d@example.com","username":"d"}})"
        << "\n";
    pipeline p(env.config(replay, {"sinks.enrichment.directory.bootstrap.file=\"" + users + "\""}), make_seed_sink, seed_schema());
    p.start();
    partition_view& v = p.metrics().partitions[0];
    ASSERT_TRUE(wait_until([&] { return v.committed_offset.load() == 2; }, std::chrono::seconds(60)));
    p.stop();
    EXPECT_EQ(p.metrics().sinks[0].processed.get(), 1u);
    EXPECT_EQ(p.metrics().sinks[0].partial.get(), 0u) << "901 and 902 known from the bootstrap file";
    const std::vector<std::string> out = read_lines(env.dir + "/enriched.jsonl");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NE(out[0].find("d@example.com"), std::string::npos) << out[0];
}

TEST(Replay, AMissingBootstrapFileNamesItself) {
    test_env env;
    const std::string replay = env.dir + "/empty.ndjson";
    std::ofstream(replay) << "";
    try {
        pipeline p(env.config(replay, {"sinks.enrichment.directory.bootstrap.file=\"/nonexistent/users.jsonl\""}),
                   make_seed_sink, seed_schema());
        p.start();
        p.stop();
        FAIL() << "started without its bootstrap file";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "user directory: cannot read bootstrap file /nonexistent/users.jsonl: No such file or directory");
    }
}

// A pipe that keeps trickling lines (a live capture, never 100 ms without
// one): what the sinks finish is committed as it comes, in either placement;
// inline sinks are served between the lines, not only every 256 of them.
class ReplayTrickle : public ::testing::TestWithParam<std::string> {};

TEST_P(ReplayTrickle, LinesOfATricklingPipeAreCommittedAsTheyCome) {
    test_env env;
    const std::string fifo = env.dir + "/live.pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    constexpr std::size_t first = 40, most = 200;  // well below 256 lines
    const std::vector<record> events = seed_records(most, 7);
    // The writer: opening blocks until the pipeline opens the pipe to read;
    // a line every 20 ms until told to stop or out of lines.
    std::atomic<std::size_t> written{0};
    std::atomic<bool> done{false};
    std::thread writer([&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        if (fd < 0) return;
        for (const record& r : events) {
            if (done) break;
            const std::string line = r.value + "\n";
            if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
            ++written;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ::close(fd);
    });
    pipeline p(env.config(fifo, {"pipeline.sinks=\"" + GetParam() + "\""}), make_seed_sink, seed_schema());
    p.start();
    partition_view& v = p.metrics().partitions[0];
    const bool committed = wait_until(
        [&] { return v.committed_offset.load() > static_cast<std::int64_t>(first) || written == most; },
        std::chrono::seconds(30));
    const std::size_t written_then = written;
    done = true;
    writer.join();
    p.stop();
    EXPECT_TRUE(committed);
    EXPECT_GT(v.committed_offset.load(), static_cast<std::int64_t>(first));
    EXPECT_LT(written_then, most) << "the first " << first << " lines were committed only after " << written_then
                                  << " lines (committed " << v.committed_offset.load() << ")";
}

INSTANTIATE_TEST_SUITE_P(Placements, ReplayTrickle, ::testing::Values("threads", "inline"));
