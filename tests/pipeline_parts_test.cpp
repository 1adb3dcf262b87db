// Pieces of the sinks: key hash, dedup window, top-K, distinct count, directory keys, JSON, seed events.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "base/clock.hpp"
#include "base/json_writer.hpp"
#include "base/key_hash.hpp"
#include "decode/decoder.hpp"
#include "decode/event_schema.hpp"
#include "dedup_window.hpp"
#include "kafka/kafka_handles.hpp"
#include "seed_events.hpp"
#include "seed_fields.hpp"
#include "seed_schema.hpp"
#include "user_directory.hpp"
#include "window_aggregate.hpp"

using namespace sluice;

TEST(KeyHash, AMillionDistinctIdsGetDistinctHashes) {
    // The dedup window keeps only the hash: a collision would drop an event.
    std::unordered_set<std::uint64_t> seen;
    std::string id;
    for (int i = 0; i < 1'000'000; ++i) {
        id = "user-" + std::to_string(i);
        ASSERT_TRUE(seen.insert(key_hash(id)).second) << id;
        if (i % 3 == 0) {
            ASSERT_TRUE(seen.insert(key_hash("3f2c1a90-" + id + "-event")).second) << id;
        }
    }
    EXPECT_EQ(key_hash("user-1"), key_hash(std::string("user-1")));
    EXPECT_NE(key_hash(""), key_hash(std::string_view("\0", 1)));
}

// Run by the test below in a child process: prints the hash of one id.
TEST(KeyHash, DISABLED_PrintHashOfAnId) { std::printf("hash=%llu\n", static_cast<unsigned long long>(key_hash("user-1"))); }

TEST(KeyHash, EachProcessHashesDifferently) {
    // Seeded per process, so ids cannot be crafted in advance to collide.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe");  // popen runs a shell
    auto child_hash = [&] {
        FILE* p = popen(("'" + self + "' --gtest_filter=KeyHash.DISABLED_PrintHashOfAnId "
                         "--gtest_also_run_disabled_tests 2>&1").c_str(), "r");
        std::string out;
        char buf[256];
        while (p && std::fgets(buf, sizeof buf, p)) out += buf;
        if (p) pclose(p);
        const auto at = out.find("hash=");
        return at == std::string::npos ? std::string("no hash in: ") + out : out.substr(at, out.find('\n', at) - at);
    };
    const std::string a = child_hash(), b = child_hash();
    ASSERT_EQ(a.rfind("hash=", 0), 0u) << a;
    ASSERT_EQ(b.rfind("hash=", 0), 0u) << b;
    EXPECT_NE(a, b);
    EXPECT_NE(a, "hash=" + std::to_string(key_hash("user-1")));
}

TEST(DedupWindow, RemembersTheLastNAndForgetsOlder) {
    dedup_window d(3);
    EXPECT_FALSE(d.seen_or_insert(10));
    EXPECT_FALSE(d.seen_or_insert(20));
    EXPECT_TRUE(d.seen_or_insert(10));
    EXPECT_FALSE(d.seen_or_insert(30));
    EXPECT_FALSE(d.seen_or_insert(40));  // evicts 10
    EXPECT_FALSE(d.seen_or_insert(10));  // evicts 20
    EXPECT_TRUE(d.seen_or_insert(30));
    EXPECT_TRUE(d.seen_or_insert(40));
    EXPECT_FALSE(d.seen_or_insert(20));
    EXPECT_EQ(d.size(), 3u);
}

TEST(DedupWindow, ManyKeysWithCollidingBuckets) {
    dedup_window d(1000);
    for (std::uint64_t i = 1; i <= 5000; ++i) ASSERT_FALSE(d.seen_or_insert(i * 2048)) << i;  // same low bits
    for (std::uint64_t i = 4001; i <= 5000; ++i) ASSERT_TRUE(d.seen_or_insert(i * 2048)) << i;
    for (std::uint64_t i = 1; i <= 100; ++i) ASSERT_FALSE(d.seen_or_insert(i * 2048 + 1));
}

TEST(TopK, ExactWithinTheTableOrderedByCountThenId) {
    top_k_counter t(16);
    for (int i = 0; i < 5; ++i) t.add("b");
    for (int i = 0; i < 5; ++i) t.add("a");
    for (int i = 0; i < 7; ++i) t.add("c");
    t.add("d");
    const auto top = t.top(3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].id, "c");
    EXPECT_EQ(top[0].count, 7u);
    EXPECT_EQ(top[1].id, "a");
    EXPECT_EQ(top[2].id, "b");
    t.clear();
    EXPECT_TRUE(t.top(3).empty());
}

TEST(TopK, SpaceSavingKeepsHeavyHittersWhenTheTableOverflows) {
    top_k_counter t(8);
    for (int round = 0; round < 100; ++round) {
        t.add("hot");
        t.add("cold-" + std::to_string(round));
    }
    EXPECT_EQ(t.top(1)[0].id, "hot");
    EXPECT_GE(t.top(1)[0].count, 100u);
}

// The indexed table gives exactly the counts of the plain Space-Saving
// algorithm (linear search, first minimum replaced) on a skewed random
// stream with far more distinct ids than entries, across clears.
TEST(TopK, IndexedTableMatchesPlainSpaceSaving) {
    struct plain {
        std::vector<std::pair<std::string, std::uint64_t>> e;
        std::size_t cap;
        void add(const std::string& id) {
            for (auto& [k, c] : e)
                if (k == id) return void(++c);
            if (e.size() < cap) return e.push_back({id, 1});
            auto m = std::min_element(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
            *m = {id, m->second + 1};
        }
    };
    std::mt19937_64 rng(5);
    for (std::size_t cap : {1u, 7u, 64u}) {
        top_k_counter t(cap);
        plain ref{{}, cap};
        for (int i = 0; i < 40000; ++i) {
            if (i == 20000) {
                t.clear();
                ref.e.clear();
            }
            // Skewed: low ids far more often than high ones.
            const std::uint64_t r = rng() % 1000;
            const std::string id = "article-" + std::to_string(r * r / 1000);
            t.add(id);
            ref.add(id);
        }
        std::map<std::string, std::uint64_t> want(ref.e.begin(), ref.e.end());
        std::map<std::string, std::uint64_t> got;
        for (const auto& item : t.top(cap)) got[std::string(item.id)] = item.count;
        EXPECT_EQ(got, want) << "table of " << cap;
    }
}

TEST(DistinctCounter, ExactAcrossGrowth) {
    distinct_counter d;
    for (std::uint64_t i = 0; i < 100000; ++i) d.add(i % 30000);
    EXPECT_EQ(d.size(), 30000u);
    d.clear();
    EXPECT_EQ(d.size(), 0u);
}

TEST(UserDirectory, NumericAndStringIdsJoin) {
    user_directory d;
    d.upsert("7", "u@x", "u");
    ASSERT_NE(d.find("7"), nullptr);
    EXPECT_EQ(d.find("7")->email, "u@x");
    EXPECT_EQ(d.find("8"), nullptr);
    EXPECT_EQ(d.find(""), nullptr);
}

// A lookup answers for exactly the id asked: "007" is not user 7 (the two
// once shared one 64-bit key, so the second upsert overwrote the first),
// and records survive the index growing past its first size.
TEST(UserDirectory, ExactIdsAcrossGrowth) {
    user_directory d;
    d.upsert("7", "seven@x", "seven");
    d.upsert("007", "bond@x", "bond");
    EXPECT_EQ(d.find("7")->email, "seven@x");
    EXPECT_EQ(d.find("007")->email, "bond@x");
    d.upsert("7", "new@x", "seven2");  // a repeated user.created updates
    EXPECT_EQ(d.size(), 2u);
    EXPECT_EQ(d.find("7")->username, "seven2");
    // (std::string(1, c) += ...: "u" + std::to_string(i) trips g++ 12's -Wrestrict, its bug 105329.)
    auto name = [](char c, int i) { return std::string(1, c) += std::to_string(i); };
    for (int i = 0; i < 300000; ++i) d.upsert(name('u', i), name('e', i), "n");
    EXPECT_EQ(d.size(), 300002u);
    for (int i = 0; i < 300000; i += 997) {
        const user_record* r = d.find(name('u', i));
        ASSERT_NE(r, nullptr) << i;
        EXPECT_EQ(r->email, name('e', i));
    }
    EXPECT_EQ(d.find("u300000"), nullptr);
    EXPECT_EQ(d.find("007")->email, "bond@x");
}

TEST(JsonWriter, EscapesAndNests) {
    std::string out;
    json_writer w(out);
    w.begin_object().field("a", std::string_view("q\"\\\n\x01")).key("b").begin_array().value(1).value(std::int64_t(-2)).end_array()
        .key("c").null().field("d", true).end_object();
    EXPECT_EQ(out, R"({"a":"q\"\\\n\u0001","b":[1,-2],"c":null,"d":true})");
}

// Every event the load generator makes decodes, is valid JSON, and the mix
// covers every seed event type in both envelope styles.
TEST(SeedEvents, EveryGeneratedEventDecodes) {
    type_registry types(seed_schema().known_types());
    decoder dec(seed_schema(), types, 1 << 16);
    standalone_event decoded;
    event_slot& slot = decoded.slot;
    seed_generator gen(3);
    seed_event ev;
    std::set<std::string> seen;
    std::set<envelope> styles;
    for (int i = 0; i < 20000; ++i) {
        gen.next(ev, wall_ns());
        decoded.assign(ev.value.data(), ev.value.size());
        const auto r = dec.decode(slot);
        ASSERT_TRUE(r) << r.describe() << ": " << ev.value;
        EXPECT_EQ(types.name(slot.ev.type), ev.type);
        EXPECT_FALSE(ev.key.empty());
        seen.insert(std::string(ev.type));
        styles.insert(seed_fields_of(slot).style);
    }
    EXPECT_EQ(seen.size(), 18u);
    EXPECT_EQ(styles.size(), 2u);
}

// sluice lowers fetch.max.bytes to 1 MiB, and librdkafka refuses a consumer
// whose message.max.bytes is larger: a user raising only message.max.bytes
// (large events) must still get a consumer.
TEST(ConsumerDefaults, ALargerMessageMaxBytesRaisesTheFetchLimit) {
    EXPECT_EQ(consumer_defaults().at("fetch.max.bytes"), "1048576");
    const std::map<std::string, std::string> big = {{"message.max.bytes", "4000000"}};
    EXPECT_EQ(consumer_defaults(big).at("fetch.max.bytes"), "4000000");
    kafka_config conf;
    conf.set_all(consumer_defaults(big));
    conf.set_all(big);
    EXPECT_NO_THROW(conf.make(RD_KAFKA_CONSUMER));
    // Smaller, or with fetch.max.bytes given too: the defaults stand.
    EXPECT_EQ(consumer_defaults({{"message.max.bytes", "500000"}}).at("fetch.max.bytes"), "1048576");
    EXPECT_EQ(consumer_defaults({{"message.max.bytes", "4000000"}, {"fetch.max.bytes", "2000000"}}).at("fetch.max.bytes"),
              "1048576");
    EXPECT_EQ(consumer_defaults({{"message.max.bytes", "lots"}}).at("fetch.max.bytes"), "1048576");
}
