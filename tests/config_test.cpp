// Config loading: defaults, overrides, and one clear error line per mistake.
#include "config/config.hpp"
#include "seed_config.hpp"

#include "config/config_dump.hpp"
#include "config/config_registry.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace sluice;

namespace {
std::string write_file(const std::string& text) {
    char name[] = "/tmp/sluice_config_XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    std::ofstream(name) << text;
    return name;
}
std::string error_of(const std::string& text, std::vector<std::string> sets = {}) {
    const auto path = write_file(text);
    try {
        load_settings(path, sets);
    } catch (const config_error& e) {
        std::remove(path.c_str());
        return e.what();
    }
    std::remove(path.c_str());
    return "";
}
}  // namespace

TEST(Config, DefaultsWithoutAFile) {
    auto s = load_settings("", {});
    EXPECT_EQ(s.bootstrap_servers, "embedded");
    EXPECT_EQ(s.topics.size(), 7u);
    EXPECT_EQ(s.outputs["enrichment"].target, "enriched.events");
    EXPECT_EQ(s.threads["source"].wait, wait_kind::park);
    EXPECT_EQ(s.stats_socket_mode, 0600u);
    EXPECT_EQ(s.wake_after_events, 1u) << "sinks woken after every poll: latency first";
}

TEST(Config, FileAndSetOverrides) {
    const auto path = write_file(R"(
[kafka]
bootstrap.servers = "localhost:9092"
topics = ["a"]
[kafka.properties]
"fetch.wait.max.ms" = 5
[sinks.analytics]
output = "file:/tmp/x.jsonl"
[routing]
"page.view" = ["notification"]
)");
    auto s = load_settings(path, {"kafka.topics=[\"b\",\"c\"]", "kafka.group.id=g2",
                                  "commit.max.events=7", "threads.source.wait=\"spin\""});
    std::remove(path.c_str());
    EXPECT_EQ(s.bootstrap_servers, "localhost:9092");
    EXPECT_EQ(s.topics, (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(s.group_id, "g2");
    EXPECT_EQ(s.commit_max_events, 7u);
    EXPECT_EQ(s.kafka_properties["fetch.wait.max.ms"], "5");
    EXPECT_EQ(s.outputs["analytics"].type, output_spec::kind::file);
    EXPECT_EQ(s.routing["page.view"], std::vector<std::string>{"notification"});
    EXPECT_EQ(s.threads["source"].wait, wait_kind::spin);
}

TEST(Config, ErrorsNameTheKey) {
    EXPECT_NE(error_of("[kafka]\ngrup.id = \"x\"\n").find("config: unknown key 'kafka.grup.id'"), std::string::npos);
    EXPECT_NE(error_of("[commit]\nmax.events = \"ten\"\n").find("config: commit.max.events: expected an integer, got a string"), std::string::npos);
    EXPECT_NE(error_of("[pipeline]\nring.size = 0\n").find("config: pipeline.ring.size: must be between 1 and 4194304 (got 0)"), std::string::npos);
    EXPECT_NE(error_of("[pipeline]\nwake.after.events = 0\n").find("config: pipeline.wake.after.events: must be between 1 and 4194304 (got 0)"), std::string::npos);
    EXPECT_NE(error_of("[threads.source]\ncpus = [4096]\n").find("config: threads.source.cpus: CPU 4096 does not exist"), std::string::npos);
    EXPECT_NE(error_of("[threads.source]\nwait = \"nap\"\n").find("config: threads.source.wait: must be one of spin, spin-then-park, park (got 'nap')"), std::string::npos);
    EXPECT_NE(error_of("[sinks.enrichment]\noutput = \"s3:bucket\"\n").find("config: sinks.enrichment.output: expected kafka:TOPIC, file:PATH or none"), std::string::npos);
    EXPECT_NE(error_of("[stats]\nhttp = \"0.0.0.0\"\n").find("config: stats.http: expected host:port"), std::string::npos);
    EXPECT_NE(error_of("[stats]\nhttp = \"0.0.0.0:http\"\n").find("config: stats.http: expected host:port"), std::string::npos);
    EXPECT_NE(error_of("[stats]\nhttp = \"127.0.0.1:99999999999999999999\"\n").find("config: stats.http: expected host:port"),
              std::string::npos)
        << "a port too long for a long is a configuration error, not an exception";
    EXPECT_NE(error_of("[log]\nlevel = \"loud\"\n").find("config: log.level: expected debug, info, warning or error"), std::string::npos);
    EXPECT_NE(error_of("[kafka\n").find("config: /tmp/sluice_config_"), std::string::npos);
    EXPECT_NE(error_of("", {"nonsense"}).find("config: --set 'nonsense': expected key=value"), std::string::npos);
    try {
        load_settings("/nonexistent/sluice.toml", {});
        FAIL();
    } catch (const config_error& e) {
        EXPECT_STREQ(e.what(), "config: cannot read file '/nonexistent/sluice.toml'");
    }
}

// The unconfirmed bounds: at least one slot's worth of events, and a bytes
// bound a producer's local queue can always take.
TEST(Config, UnconfirmedBounds) {
    const settings d = load_settings("", {});
    EXPECT_EQ(d.unconfirmed_max_events, 16384u);
    EXPECT_EQ(d.unconfirmed_max_bytes, std::size_t(64) << 20);
    EXPECT_EQ(load_settings("", {"pipeline.ring.size=65536"}).unconfirmed_max_events, 65536u)
        << "the default follows a larger ring";
    EXPECT_EQ(load_settings("", {"pipeline.unconfirmed.max.events=5000", "pipeline.ring.size=5000"}).unconfirmed_max_events,
              5000u);
    EXPECT_EQ(error_of("[pipeline]\nring.size = 8192\nunconfirmed.max.events = 4096\n").rfind(
                  "config: pipeline.unconfirmed.max.events: must be at least pipeline.ring.size (8192): every slot's "
                  "event is in flight (/tmp/", 0), 0u);
    EXPECT_NE(error_of("[pipeline]\nunconfirmed.max.bytes = 1024\n")
                  .find("config: pipeline.unconfirmed.max.bytes: must be between 1048576 and"), std::string::npos);
    EXPECT_EQ(error_of("[pipeline]\nunconfirmed.max.bytes = 33554432\n[kafka.producer.properties]\n"
                       "\"queue.buffering.max.kbytes\" = 32768\n").rfind(
                  "config: pipeline.unconfirmed.max.bytes: must be below the producers' queue.buffering.max.kbytes "
                  "(32768 KiB = 33554432 bytes) (/tmp/", 0), 0u);
    EXPECT_EQ(load_settings("", {"kafka.producer.properties.\"queue.buffering.max.kbytes\"=32768"}).unconfirmed_max_bytes,
              std::size_t(16) << 20)
        << "not given, the bound is half a smaller producer queue";
}

TEST(Config, StatsHttpMayLeaveLoopbackOnPurpose) {
    EXPECT_TRUE(load_settings("", {"stats.http=\"127.0.0.1:9464\""}).stats_http_loopback());
    EXPECT_TRUE(load_settings("", {"stats.http=\"[::1]:9464\""}).stats_http_loopback());
    EXPECT_FALSE(load_settings("", {"stats.http=\"0.0.0.0:9464\""}).stats_http_loopback());
    EXPECT_FALSE(load_settings("", {"stats.http=\"10.1.2.3:9464\""}).stats_http_loopback());
}

TEST(Config, SecretsFromTheEnvironmentAndFiles) {
    ::setenv("SLUICE_CONFIG_TEST_SECRET", "from-env", 1);
    const std::string path = "/tmp/sluice_config_test_secret_" + std::to_string(::getpid());
    std::ofstream(path) << "from-file\n";
    const settings s = load_settings("", {"kafka.properties.\"sasl.password\"=\"${SLUICE_CONFIG_TEST_SECRET}\"",
                                          "kafka.producer.properties.\"sasl.password_file\"=\"" + path + "\"",
                                          "kafka.properties.\"client.id\"=\"a-${SLUICE_CONFIG_TEST_SECRET}-b\""});
    EXPECT_EQ(s.kafka_properties.at("sasl.password"), "from-env");
    EXPECT_EQ(s.kafka_properties.at("client.id"), "a-from-env-b");
    EXPECT_EQ(s.producer_properties.at("sasl.password"), "from-file");
    EXPECT_EQ(s.producer_properties.count("sasl.password_file"), 0u);
    ::unlink(path.c_str());
    ::unsetenv("SLUICE_CONFIG_TEST_SECRET");
    EXPECT_NE(error_of("", {"kafka.properties.\"sasl.password\"=\"${SLUICE_CONFIG_TEST_SECRET}\""})
                  .find("config: kafka.properties.sasl.password: environment variable 'SLUICE_CONFIG_TEST_SECRET' is not set"),
              std::string::npos);
}

TEST(Config, SourceIsKafkaOrAReplayFile) {
    EXPECT_TRUE(load_settings("", {}).replay_file.empty());
    const settings s = load_settings("", {"source=\"replay:/data/capture.ndjson\""});
    EXPECT_EQ(s.replay_file, "/data/capture.ndjson");
    EXPECT_EQ(s.broker_topics().count("replay.dlq"), 1u) << "the embedded broker holds the replay's dead letters";
    EXPECT_TRUE(load_settings("", {"source=kafka"}).replay_file.empty());
    EXPECT_EQ(error_of("source = \"replay:\"\n"), "config: source: expected kafka or replay:FILE (got 'replay:')");
    EXPECT_EQ(error_of("source = \"file:/x\"\n"), "config: source: expected kafka or replay:FILE (got 'file:/x')");
    EXPECT_NE(error_of("source = 3\n").find("config: source:"), std::string::npos);
}

TEST(Config, TraceHeaders) {
    EXPECT_EQ(load_settings("", {}).trace_headers,
              (std::vector<std::string>{"traceparent", "tracestate", "trace-id", "correlation-id", "sluice.redrive.count"}));
    EXPECT_EQ(load_settings("", {"kafka.trace.headers=[\"x-b3-traceid\"]"}).trace_headers,
              std::vector<std::string>{"x-b3-traceid"});
    EXPECT_TRUE(load_settings("", {"kafka.trace.headers=[]"}).trace_headers.empty());
    EXPECT_EQ(error_of("[kafka.trace]\nheaders = [\"a\", \"a\"]\n").find("config: kafka.trace.headers: 'a' is listed twice"), 0u);
    EXPECT_EQ(error_of("[kafka.trace]\nheaders = [\"\"]\n").find("config: kafka.trace.headers: a header name must not be empty"), 0u);
    std::string many = "[kafka.trace]\nheaders = [";
    for (int i = 0; i < 17; ++i) many += (i ? ",\"h" : "\"h") + std::to_string(i) + "\"";
    EXPECT_EQ(error_of(many + "]\n").find("config: kafka.trace.headers: at most 16 headers"), 0u);
}

// pipeline.sinks: threads, inline or auto (the default, resolved at start-up);
// any other word is an error naming the key.
TEST(Config, SinkPlacement) {
    EXPECT_EQ(load_settings("", {}).sinks, sink_placement::automatic);
    EXPECT_EQ(load_settings("", {"pipeline.sinks=\"threads\""}).sinks, sink_placement::threads);
    EXPECT_EQ(load_settings("", {"pipeline.sinks=\"inline\""}).sinks, sink_placement::inline_);
    EXPECT_EQ(load_settings("", {"pipeline.sinks=\"auto\""}).sinks, sink_placement::automatic);
    EXPECT_EQ(error_of("[pipeline]\nsinks = \"fibers\"\n").rfind(
                  "config: pipeline.sinks: expected \"threads\", \"inline\" or \"auto\" (got 'fibers') (/tmp/sluice_config_", 0), 0u);
    EXPECT_EQ(error_of("[pipeline]\nsinks = \"Inline\"\n").rfind("config: pipeline.sinks: expected", 0), 0u);
    EXPECT_EQ(error_of("[pipeline]\nsinks = 1\n").rfind("config: pipeline.sinks: expected a string, got an integer", 0),
              0u);
}

// Inline sinks have no threads: a thread setting for one is an error naming
// it, in a file or from --set. With threads or auto it is allowed (auto may
// well choose threads).
TEST(Config, ThreadSettingsOfASinkAreAnErrorWithInlineSinks) {
    EXPECT_EQ(error_of("[pipeline]\nsinks = \"inline\"\n[threads.analytics]\ncpus = [0]\n")
                  .rfind("config: threads.analytics.cpus: sink analytics has no thread with pipeline.sinks = \"inline\"", 0),
              0u);
    EXPECT_EQ(error_of("", {"pipeline.sinks=\"inline\"", "threads.notification.wait=\"spin\""})
                  .rfind("config: threads.notification.wait: sink notification has no thread", 0),
              0u);
    for (const char* placement : {"threads", "auto"}) {
        const settings s = load_settings("", {"pipeline.sinks=\"" + std::string(placement) + "\"", "threads.analytics.cpus=[0]"});
        EXPECT_EQ(s.threads.at("analytics").cpus, std::vector<int>{0}) << placement;
    }
    // The roles that keep their threads inline may still be set.
    const settings s = load_settings("", {"pipeline.sinks=\"inline\"", "threads.source.cpus=[0]", "threads.commit.wait=\"spin\""});
    EXPECT_EQ(s.threads.at("source").cpus, std::vector<int>{0});
    EXPECT_EQ(s.threads.at("commit").wait, wait_kind::spin);
}

// `sluice check` shows the placement under [pipeline], and what it prints
// reads back to the same settings in each placement.
TEST(Config, EffectiveConfigShowsTheSinkPlacementAndReadsBack) {
    const std::string dump = effective_config(load_settings("", {}));
    const auto section = dump.find("\n[pipeline]\n");
    ASSERT_NE(section, std::string::npos) << dump;
    const auto line = dump.find("\nsinks = \"auto\"\n", section);
    ASSERT_NE(line, std::string::npos) << dump;
    EXPECT_EQ(dump.find("\n[", section + 1), dump.find("\n[", line)) << "sinks is a key of [pipeline]";
    for (const char* placement : {"threads", "inline", "auto"}) {
        const settings s = load_settings("", {"pipeline.sinks=\"" + std::string(placement) + "\""});
        const std::string text = effective_config(s);
        EXPECT_NE(text.find("\nsinks = \"" + std::string(placement) + "\"\n"), std::string::npos) << placement;
        try {
            EXPECT_EQ(effective_config(parse_settings(text, "check output", {})), text) << placement;
        } catch (const config_error& e) {
            ADD_FAILURE() << placement << ": the output of check does not read back: " << e.what();
        }
    }
}

// Every key a user can set is in what `sluice check` prints (a SIGHUP that
// changes one is then named as taking a restart), and it reads back.
TEST(Config, EffectiveConfigShowsEveryKeySet) {
    const settings s = load_settings("", {"kafka.dlq.format=\"envelope\"", "kafka.trace.headers=[\"traceparent\"]",
                                          "shutdown.timeout.ms=1500", "kafka.properties.\"auto.offset.reset\"=\"latest\""});
    const std::string text = effective_config(s);
    EXPECT_EQ(text.find("source = \"kafka\"\nshutdown.timeout.ms = 1500\n"), 0u) << text;
    EXPECT_NE(text.find("\ndlq.format = \"envelope\"\ntrace.headers = [\"traceparent\"]\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n[kafka.properties]\n\"auto.offset.reset\" = \"latest\"\n"), std::string::npos) << text;
    const settings back = parse_settings(text, "check output", {});
    EXPECT_EQ(back.dead_letter_format, dlq_format::envelope);
    EXPECT_EQ(back.trace_headers, std::vector<std::string>{"traceparent"});
    EXPECT_EQ(back.shutdown_timeout_ms, 1500u);
    EXPECT_EQ(back.offset_reset, offset_reset_policy::latest);
    EXPECT_EQ(back.kafka_properties.count("auto.offset.reset"), 0u) << "applied by sluice, not handed to librdkafka";
    EXPECT_EQ(effective_config(back), text);
}

// Each module registers the keys it reads; two registering one key (or a
// key inside another's table) is a programming error, caught when the
// registry is built at the first load.
namespace {
struct extra_settings {
    std::uint32_t depth = 4;
};
void register_clashing_key(config_registry& keys) { keys.integer("commit.max.events", &extra_settings::depth, 1, 9); }
void register_key_in_a_table(config_registry& keys) { keys.integer("routing.depth", &extra_settings::depth, 1, 9); }
void register_twice(config_registry& keys) {
    keys.integer("sinks.archive.depth", &extra_settings::depth, 1, 9);
    keys.integer("sinks.archive.depth", &extra_settings::depth, 1, 9);
}
void register_archive_keys(config_registry& keys) {
    keys.integer("sinks.archive.depth", &extra_settings::depth, 1, 9, true);
}
std::shared_ptr<config_domain> four_sinks(void (*register_keys)(config_registry&)) {
    auto d = std::make_shared<config_domain>(*seed_domain());
    d->sink_names.push_back("archive");
    d->outputs["archive"] = {output_spec::kind::file, "/tmp/archive.jsonl"};
    d->sink_settings = extra_settings{};
    d->register_keys = register_keys;
    d->topics_read = nullptr;
    return d;
}
}  // namespace

TEST(Config, ARegisteredKeyIsRegisteredOnce) {
    EXPECT_NO_THROW(build_config_registry(*seed_domain()));
    for (auto reg : {register_clashing_key, register_key_in_a_table, register_twice}) {
        try {
            load_settings(four_sinks(reg), "", {});
            ADD_FAILURE() << "a key registered twice is accepted";
        } catch (const std::logic_error& e) {
            EXPECT_NE(std::string(e.what()).find("registered twice"), std::string::npos) << e.what();
        }
    }
}

TEST(Config, UnknownKeysUnderARegisteredPrefixAreRejected) {
    EXPECT_EQ(error_of("", {"sinks.notification.dedup.capacty=5"}),
              "config: unknown key 'sinks.notification.dedup.capacty' (--set)");
    EXPECT_EQ(error_of("[threads.source]\nspinn = 5\n").rfind("config: unknown key 'threads.source.spinn' (/tmp/sluice_config_", 0),
              0u);
    EXPECT_EQ(error_of("", {"sinks.archive.output=none"}), "config: unknown key 'sinks.archive.output' (--set)")
        << "a sink the domain does not name has no keys";
}

// A domain with a fourth sink: its keys, output, thread role and dump come
// from the domain alone; the engine's errors name it from the list.
TEST(Config, AFourthSinkComesFromTheDomain) {
    const auto domain = four_sinks(register_archive_keys);
    const settings s = load_settings(domain, "", {"sinks.archive.depth=7", "threads.archive.wait=\"spin\""});
    EXPECT_EQ(std::any_cast<const extra_settings&>(s.sink_settings).depth, 7u);
    EXPECT_EQ(s.outputs.at("archive").target, "/tmp/archive.jsonl");
    EXPECT_EQ(s.threads.at("archive").wait, wait_kind::spin);
    EXPECT_TRUE(s.keys->reloadable("sinks.archive.depth"));
    EXPECT_FALSE(s.keys->reloadable("sinks.archive.output"));
    const std::string dump = effective_config(s);
    EXPECT_NE(dump.find("\n[sinks.archive]\noutput = \"file:/tmp/archive.jsonl\"\ndepth = 7\n"), std::string::npos) << dump;
    try {
        load_settings(domain, "", {"threads.bogus.cpus=[0]"});
        ADD_FAILURE();
    } catch (const config_error& e) {
        EXPECT_STREQ(e.what(), "config: threads.bogus.cpus: unknown thread role 'bogus' (roles: source, enrichment, "
                               "notification, analytics, archive, commit, stats) (--set)");
    }
    EXPECT_EQ(error_of("", {"threads.bogus.cpus=[0]"}),
              "config: threads.bogus.cpus: unknown thread role 'bogus' (roles: source, enrichment, notification, "
              "analytics, commit, stats) (--set)");
}

// What a reload takes is what the modules registered as reloadable.
TEST(Config, ReloadableKeysAreThoseRegisteredSo) {
    const settings s = load_settings("", {});
    for (const char* key : {"routing.page.view", "commit.max.events", "commit.interval.ms", "sinks.retry.max.attempts",
                            "sinks.retry.backoff.ms", "sinks.retry.backoff.max.ms", "sinks.analytics.window.ms", "log.level"})
        EXPECT_TRUE(s.keys->reloadable(key)) << key;
    for (const char* key : {"sinks.analytics.top.k", "pipeline.ring.size", "kafka.topics", "log.format", "sinks.analytics.output"})
        EXPECT_FALSE(s.keys->reloadable(key)) << key;
    settings running = s;
    const settings next = load_settings("", {"sinks.analytics.window.ms=5", "sinks.analytics.top.k=3", "commit.max.events=9"});
    s.keys->take_reloadable(running, next);
    EXPECT_EQ(seed_sink_settings_of(running).window_ms, 5u);
    EXPECT_EQ(seed_sink_settings_of(running).top_k, 10u) << "not reloadable: kept";
    EXPECT_EQ(running.commit_max_events, 9u);
}
