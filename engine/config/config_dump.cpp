// Prints settings back as TOML, redacting secret librdkafka properties.
#include "config/config_dump.hpp"

#include "config/config_registry.hpp"
#include "dead_letter/dead_letter_record.hpp"

#include <cstdio>
#include <locale>
#include <sstream>

namespace sluice {

namespace {

template <typename T>
std::string list(const std::vector<T>& v) {
    std::ostringstream os;
    os << "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) os << ", ";
        if constexpr (std::is_same_v<T, std::string>) os << toml_quoted(v[i]);
        else os << v[i];
    }
    os << "]";
    return os.str();
}

void properties(std::ostringstream& os, const char* table, const std::map<std::string, std::string>& props) {
    if (props.empty()) return;
    os << "\n[" << table << "]\n";
    for (const auto& [k, v] : props)
        os << toml_quoted(k) << " = " << toml_quoted(is_secret_property(k) ? std::string(redacted) : v) << "\n";
}

}  // namespace

bool is_secret_property(std::string_view name) {
    for (std::string_view needle : {"password", "secret", "jaas", "oauthbearer.config", "key.pem", "ssl.key"})
        if (name.find(needle) != std::string_view::npos) return true;
    return false;
}

std::string effective_config(const settings& s) {
    std::ostringstream os;
    os.imbue(std::locale::classic());
    os << "source = " << toml_quoted(s.replay_file.empty() ? "kafka" : "replay:" + s.replay_file) << "\n"
       << "shutdown.timeout.ms = " << s.shutdown_timeout_ms << "\n";
    os << "\n[kafka]\n"
       << "bootstrap.servers = " << toml_quoted(s.bootstrap_servers) << "\n"
       << "group.id = " << toml_quoted(s.group_id) << "\n"
       << "topics = " << list(s.topics) << "\n"
       << "dlq.suffix = " << toml_quoted(s.dlq_suffix) << "\n"
       << "dlq.format = " << toml_quoted(dlq_format_name(s.dead_letter_format)) << "\n"
       << "trace.headers = " << list(s.trace_headers) << "\n";
    // sluice applies the reset policy itself (it is not among the properties
    // handed to librdkafka), and shows it where it was set.
    std::map<std::string, std::string> consumer = s.kafka_properties;
    consumer["auto.offset.reset"] = s.offset_reset == offset_reset_policy::latest ? "latest" : "earliest";
    properties(os, "kafka.properties", consumer);
    properties(os, "kafka.producer.properties", s.producer_properties);
    os << "\n[embedded]\nbrokers = " << s.embedded_brokers << "\n";
    if (!s.embedded_topics.empty()) {
        os << "\n[embedded.topics]\n";
        for (const auto& [t, p] : s.embedded_topics) os << toml_quoted(t) << " = " << p << "\n";
    }
    os << "\n[pipeline]\n"
       << "ring.size = " << s.ring_size << "\n"
       << "unconfirmed.max.events = " << s.unconfirmed_max_events << "\n"
       << "unconfirmed.max.bytes = " << s.unconfirmed_max_bytes << "\n"
       << "max.payload.bytes = " << s.max_payload_bytes << "\n"
       << "pause.after.ms = " << s.pause_after_ms << "\n"
       << "revoke.drain.timeout.ms = " << s.revoke_drain_timeout_ms << "\n"
       << "wake.after.events = " << s.wake_after_events << "\n"
       << "sinks = " << toml_quoted(std::string(to_string(s.sinks))) << "\n";
    os << "\n[commit]\nmax.events = " << s.commit_max_events << "\ninterval.ms = " << s.commit_interval_ms << "\n";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", s.stats_socket_mode);
    os << "\n[stats]\n"
       << "socket = " << toml_quoted(s.stats_socket) << "\n"
       << "http = " << toml_quoted(s.stats_http) << "\n"
       << "mode = " << toml_quoted(mode) << "\n"
       << "max.clients = " << s.stats_max_clients << "\n";
    os << "\n[log]\nlevel = " << toml_quoted(s.log_level) << "\nformat = " << toml_quoted(s.log_format) << "\n";
    for (const auto& [role, t] : s.threads) {
        // Inline sinks have no threads, and a setting for one is an error.
        if (s.sinks == sink_placement::inline_ && s.is_sink(role)) continue;
        os << "\n[threads." << role << "]\n"
           << "cpus = " << list(t.cpus) << "\n"
           << "wait = " << toml_quoted(to_string(t.wait)) << "\n"
           << "spin = " << t.spin << "\n";
    }
    // A sink's table: every key registered under it, in registration order
    // (its output first, then the domain's own keys for it).
    for (const auto& [sink, out] : s.outputs) {
        const std::string table = "sinks." + sink + ".";
        os << "\n[sinks." << sink << "]\n";
        if (s.keys)
            for (const auto& k : s.keys->keys())
                if (k.print && k.name.rfind(table, 0) == 0) os << k.name.substr(table.size()) << " = " << k.print(s) << "\n";
    }
    os << "\n[sinks.retry]\nmax.attempts = " << s.retry_max_attempts << "\nbackoff.ms = " << s.retry_backoff_ms
       << "\nbackoff.max.ms = " << s.retry_backoff_max_ms << "\n";
    if (!s.routing.empty()) {
        os << "\n[routing]\n";
        for (const auto& [type, sinks] : s.routing) os << toml_quoted(type) << " = " << list(sinks) << "\n";
    }
    os << "\n[loadgen]\nrate = " << s.loadgen_rate << "\ncount = " << s.loadgen_count << "\n";
    os << "\n[run]\nduration.s = " << s.duration_s << "\nprogress = " << (s.progress ? "true" : "false") << "\n";
    return os.str();
}

}  // namespace sluice
