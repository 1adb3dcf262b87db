// The hostile corpus in tests/hostile/: every file goes to the dead-letter
// topic with its own readable reason, the counters say so, and the good
// events around it flow on and are committed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "base/clock.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "seed_events.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Outputs none, the stats socket in dir, commits every 50 ms.
settings analytics_settings(const std::string& bootstrap, const std::string& dir, const std::string& group,
                            std::vector<std::string> extra) {
    std::vector<std::string> sets = {
        "kafka.bootstrap.servers=\"" + bootstrap + "\"", "kafka.group.id=\"" + group + "\"",
        "stats.socket=\"" + dir + "/s.sock\"", "sinks.enrichment.output=\"none\"",
        "sinks.notification.output=\"none\"", "sinks.analytics.output=\"none\"", "commit.interval.ms=50"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return load_settings("", sets);
}

// Runs p until group has committed portfolio.analytics[0] up to end, then
// stops it; false if that took over a minute.
bool run_until_committed(pipeline& p, const std::string& bootstrap, const std::string& group, std::int64_t end) {
    p.start();
    const bool done = wait_until([&] {
        const auto c = committed_offsets(bootstrap, group, {"portfolio.analytics"});
        return c.at({"portfolio.analytics", 0}) == end;
    }, std::chrono::seconds(60));
    p.stop();
    return done;
}

struct hostile_case {
    std::string name, payload, reason_prefix;
    bool tombstone = false;
};

std::vector<hostile_case> corpus() {
    const char* dir = std::getenv("SLUICE_HOSTILE_DIR");
    if (!dir) throw std::runtime_error("SLUICE_HOSTILE_DIR is not set");
    std::vector<hostile_case> cases;
    std::ifstream manifest(std::string(dir) + "/expected.txt");
    std::string line;
    while (std::getline(manifest, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.find(' ');
        hostile_case c;
        c.name = line.substr(0, space);
        c.reason_prefix = line.substr(line.find_first_not_of(' ', space));
        if (c.name == "(tombstone)") c.tombstone = true;
        else c.payload = slurp(std::string(dir) + "/" + c.name);
        cases.push_back(std::move(c));
    }
    return cases;
}

}  // namespace

TEST(HostileInput, EveryCaseIsDeadLetteredWithItsOwnReasonAndTheRestFlows) {
    const auto cases = corpus();
    ASSERT_EQ(cases.size(), 14u);
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();

    // Good events before, between and after the hostile ones, on one partition.
    seed_generator gen(5);
    seed_event ev;
    std::vector<record> recs;
    std::size_t good = 0;
    auto add_good = [&](int n) {
        for (int i = 0; i < n; ++i) {
            gen.next(ev, wall_ns());
            recs.push_back({"portfolio.analytics", 0, 0, ev.key, ev.value});
            ++good;
        }
    };
    for (const auto& c : cases) {
        add_good(5);
        record r{"portfolio.analytics", 0, 0, c.name, c.payload};
        r.null_value = c.tombstone;
        recs.push_back(r);
    }
    add_good(5);
    produce(b, recs);

    {
        pipeline p(analytics_settings(b, dir, "hostile", {"pipeline.max.payload.bytes=65536"}), make_seed_sink, seed_schema());
        ASSERT_TRUE(run_until_committed(p, b, "hostile", static_cast<std::int64_t>(recs.size())));
        EXPECT_EQ(p.metrics().source.dead_lettered.get(), cases.size());
        EXPECT_EQ(p.metrics().commit.dlq_delivered.get(), cases.size());
        EXPECT_EQ(p.metrics().source.decoded.get(), good);
        EXPECT_EQ(p.metrics().sinks[2].processed.get(), good);  // analytics gets every good event
    }
    const auto dlq = read_all(b, "portfolio.analytics.dlq");
    ASSERT_EQ(dlq.size(), cases.size());
    std::set<std::string> reasons;
    for (const auto& c : cases) {
        const record* found = nullptr;
        for (const auto& r : dlq)
            if (r.key == c.name) found = &r;
        ASSERT_NE(found, nullptr) << c.name;
        const std::string& reason = found->headers.at("sluice.failure_reason");
        EXPECT_EQ(reason.rfind(c.reason_prefix, 0), 0u) << c.name << ": " << reason;
        EXPECT_EQ(found->value, c.payload) << c.name << ": the original bytes";
        reasons.insert(reason);
    }
    EXPECT_EQ(reasons.size(), cases.size()) << "every case has a distinct reason";
}

// Events far larger than a partition's share of a fetch (sluice asks for at
// most 256 KiB per partition and 1 MiB per fetch) still arrive whole between
// small ones: the broker returns a first batch that exceeds the limit, and
// nothing stalls behind it.
TEST(HostileInput, EventsLargerThanTheFetchLimitsFlowAndAreCommitted) {
    const std::string dir = temp_dir();
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();

    seed_generator gen(9);
    seed_event ev;
    std::vector<record> recs;
    for (std::size_t size : {0, 300 << 10, 0, 900 << 10, 0, 600 << 10, 0}) {
        gen.next(ev, wall_ns());
        std::string value = ev.value;
        // An extra string field the decoder skips.
        if (size) value.insert(1, "\"padding\":\"" + std::string(size, 'p') + "\",");
        recs.push_back({"portfolio.analytics", 0, 0, ev.key, value});
    }
    produce(b, recs);

    pipeline p(analytics_settings(b, dir, "large", {}), make_seed_sink, seed_schema());
    ASSERT_TRUE(run_until_committed(p, b, "large", static_cast<std::int64_t>(recs.size())));
    EXPECT_EQ(p.metrics().source.decoded.get(), recs.size());
    EXPECT_EQ(p.metrics().source.dead_lettered.get(), 0u);
    EXPECT_EQ(p.metrics().sinks[2].processed.get(), recs.size());
    std::size_t bytes = 0;
    for (const auto& r : recs) bytes += r.value.size();
    EXPECT_EQ(p.metrics().source.bytes.get(), bytes);
}
