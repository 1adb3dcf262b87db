// Configuration: TOML file plus --set overrides, flattened to dotted keys and validated.
#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letter/dead_letter_record.hpp"
#include "ring/wait_strategy.hpp"

namespace sluice {

// Thrown for any configuration problem; what() is one line naming the key.
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct thread_settings {
    std::vector<int> cpus;  // empty: not pinned
    wait_kind wait = wait_kind::park;
    std::uint32_t spin = 2000;  // idle rounds spun before parking (spin-then-park)
};

struct output_spec {
    enum class kind { none, kafka, file } type = kind::none;
    std::string target;  // topic or path
};

class config_registry;
struct settings;

// What the domain (pipelines/) tells the engine's configuration: its sinks,
// the topics it reads, where each sink writes, how types are routed, and
// its own settings with the keys that set them. The engine names sinks
// only from here.
struct config_domain {
    std::vector<std::string> sink_names;  // index = the sink's bit in a route; each is a thread role too
    // Default kafka.topics, with their partitions on the embedded broker.
    std::vector<std::pair<std::string, int>> topics;
    std::map<std::string, output_spec> outputs;              // default sinks.<name>.output
    std::map<std::string, std::vector<std::string>> routes;  // event type -> sinks; "default" for the rest
    std::any sink_settings;  // the domain's own settings struct, holding its defaults
    // Registers the keys that set sink_settings (config_registry.hpp).
    void (*register_keys)(config_registry&) = nullptr;
    // Topics the domain's sinks read besides kafka.topics, each with the key
    // that names it (for `check --connect`); may be null.
    std::vector<std::pair<std::string, std::string>> (*topics_read)(const settings&) = nullptr;
};

// Where the sinks' processing runs (pipeline.sinks): a thread per sink fed
// over SPSC rings, or on the source thread right after decode; automatic
// picks inline when the usable CPUs are fewer than the event-handling roles.
enum class sink_placement { threads, inline_, automatic };
std::string_view to_string(sink_placement p) noexcept;

// Where a partition starts when its committed offset is missing or no longer
// in the log (librdkafka's auto.offset.reset, applied by sluice itself).
enum class offset_reset_policy { earliest, latest };

struct settings {
    // source: "kafka" (the consumer group) or "replay:PATH"
    std::string replay_file;  // empty: Kafka
    // kafka
    std::string bootstrap_servers = "embedded";
    std::string group_id = "sluice";
    std::vector<std::string> topics;
    std::map<std::string, std::string> kafka_properties;  // consumers, passed to librdkafka as given
    std::map<std::string, std::string> producer_properties;  // output and dead-letter producers
    std::string dlq_suffix = ".dlq";
    offset_reset_policy offset_reset = offset_reset_policy::earliest;  // kafka.properties.auto.offset.reset
    dlq_format dead_letter_format = dlq_format::headers;
    // Headers carried from each event into its output records and dead letters.
    std::vector<std::string> trace_headers;
    // embedded broker
    int embedded_brokers = 1;
    std::map<std::string, int> embedded_topics;  // name -> partitions, besides defaults
    // pipeline
    std::size_t ring_size = 4096;
    // Events dispatched and not yet confirmed by every output, and the bytes
    // kept for them plus output records not yet confirmed: the source waits
    // (and pauses) at either bound. 0 events: max(16384, ring_size).
    std::size_t unconfirmed_max_events = 0;
    std::size_t unconfirmed_max_bytes = 64 << 20;
    std::size_t max_payload_bytes = 1 << 20;
    std::uint32_t pause_after_ms = 50;
    std::uint32_t revoke_drain_timeout_ms = 30000;
    // The whole graceful stop (drains, final commit, deliveries) ends by then,
    // taking precedence over the drain timeout and message.timeout.ms.
    std::uint32_t shutdown_timeout_ms = 20000;
    std::uint32_t wake_after_events = 1;  // see dispatcher::notify_if_many()
    sink_placement sinks = sink_placement::automatic;
    // commit
    std::uint32_t commit_max_events = 10000;
    std::uint32_t commit_interval_ms = 200;
    // stats
    std::string stats_socket = "/tmp/sluice.sock";
    std::string stats_http;  // host:port, empty = none; loopback unless an operator opens it on purpose
    bool stats_http_loopback() const;
    std::uint32_t stats_socket_mode = 0600;
    std::uint32_t stats_max_clients = 64;
    // threads, by role (roles())
    std::map<std::string, thread_settings> threads;
    // sinks
    std::map<std::string, output_spec> outputs;  // by sink name
    std::uint32_t retry_max_attempts = 5;
    std::uint32_t retry_backoff_ms = 50;
    std::uint32_t retry_backoff_max_ms = 5000;
    // The domain's own settings (its sinks'), as config_domain::sink_settings
    // after its keys were read; the domain reads them back with std::any_cast.
    std::any sink_settings;
    // routing: event type -> sink names ("default" for the rest)
    std::map<std::string, std::vector<std::string>> routing;
    // built-in load (demo)
    double loadgen_rate = 0;  // events/s; 0 = off
    std::uint64_t loadgen_count = 0;  // 0 = until stopped
    // log
    std::string log_level = "info";   // debug, info, warning, error
    std::string log_format = "text";  // text or json
    // run
    double duration_s = 0;  // 0 = until SIGINT/SIGTERM
    bool progress = true;

    // What the settings were read with (empty in a default-constructed settings).
    std::shared_ptr<const config_domain> domain;
    std::shared_ptr<const config_registry> keys;

    // The domain's sinks, index = sink bit.
    const std::vector<std::string>& sink_names() const;
    // Thread roles: source, each sink, commit, stats.
    std::vector<std::string> roles() const;
    // Whether a thread role is a sink (which has no thread when the sinks run inline).
    bool is_sink(std::string_view role) const;
    // The domain's routes with the routing keys over them.
    std::map<std::string, std::vector<std::string>> routes() const;
    // Default topics with partitions, output topics, and their .dlq companions.
    std::map<std::string, int> broker_topics() const;
};

// Loads path (may be empty: defaults only), applies overrides "key=value"
// (value is a TOML value; a bare word is taken as a string), validates
// everything and rejects unknown keys. Throws config_error. (pipelines/
// seed_config.hpp has the same without the domain argument, for the seed
// systems.)
settings load_settings(std::shared_ptr<const config_domain> domain, const std::string& path,
                       const std::vector<std::string>& overrides);
// The same for TOML text already in memory; origin names it in errors.
settings parse_settings(std::shared_ptr<const config_domain> domain, std::string_view text, const std::string& origin,
                        const std::vector<std::string>& overrides);
// Every key the engine's modules and the domain read, in the order they
// are read. Throws std::logic_error if two register one key.
std::shared_ptr<const config_registry> build_config_registry(const config_domain& domain);

// Parses "kafka" or "replay:PATH" into s.replay_file. Throws config_error naming key.
void parse_source(const std::string& key, const std::string& text, settings& s);

// Parses "kafka:TOPIC", "file:PATH" or "none". Throws config_error naming key.
output_spec parse_output(const std::string& key, const std::string& text);

}  // namespace sluice
