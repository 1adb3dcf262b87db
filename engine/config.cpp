// TOML loading (toml++), flattening to dotted keys, typed validation.
#include "config.hpp"

#include <algorithm>
#include <charconv>
#include "trace_context.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace sluice {
namespace {

struct flat_value {
    toml::node_type type;
    std::string text;                   // string values
    std::int64_t integer = 0;
    double floating = 0;
    bool boolean = false;
    std::vector<flat_value> items;      // arrays
    std::string where;                  // "file:line" or "--set"
};

flat_value to_flat(const toml::node& n, const std::string& where) {
    flat_value v;
    v.type = n.type();
    v.where = where;
    if (auto s = n.as_string()) v.text = s->get();
    else if (auto i = n.as_integer()) v.integer = i->get();
    else if (auto f = n.as_floating_point()) v.floating = f->get();
    else if (auto b = n.as_boolean()) v.boolean = b->get();
    else if (auto a = n.as_array())
        for (const auto& item : *a) v.items.push_back(to_flat(item, where));
    return v;
}

std::string where_of(const toml::node& n, const std::string& file) {
    const auto& src = n.source();
    if (file.empty()) return "--set";
    return file + ":" + std::to_string(src.begin.line);
}

void flatten(const toml::table& t, const std::string& prefix, const std::string& file,
             std::map<std::string, flat_value>& out) {
    for (const auto& [k, node] : t) {
        const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (auto sub = node.as_table()) flatten(*sub, key, file, out);
        else out[key] = to_flat(node, where_of(node, file));
    }
}

const char* type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        default: return "a date/time";
    }
}

// Typed access that remembers which keys were read, so leftovers are unknown.
class reader {
public:
    explicit reader(std::map<std::string, flat_value> values) : values_(std::move(values)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        auto it = values_.find(key);
        std::string where = it != values_.end() ? " (" + it->second.where + ")" : "";
        throw config_error("config: " + key + ": " + problem + where);
    }
    const flat_value* find(const std::string& key) {
        auto it = values_.find(key);
        if (it == values_.end()) return nullptr;
        used_.insert(key);
        return &it->second;
    }
    void str(const std::string& key, std::string& out) {
        if (auto v = find(key)) {
            if (v->type != toml::node_type::string) fail(key, std::string("expected a string, got ") + type_name(v->type));
            out = v->text;
        }
    }
    template <typename Int>
    void integer(const std::string& key, Int& out, std::int64_t lo, std::int64_t hi) {
        if (auto v = find(key)) {
            if (v->type != toml::node_type::integer) fail(key, std::string("expected an integer, got ") + type_name(v->type));
            if (v->integer < lo || v->integer > hi)
                fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                              " (got " + std::to_string(v->integer) + ")");
            out = static_cast<Int>(v->integer);
        }
    }
    void number(const std::string& key, double& out, double lo, double hi) {
        if (auto v = find(key)) {
            double d;
            if (v->type == toml::node_type::integer) d = double(v->integer);
            else if (v->type == toml::node_type::floating_point) d = v->floating;
            else fail(key, std::string("expected a number, got ") + type_name(v->type));
            if (!(d >= lo && d <= hi)) {
                std::ostringstream os;
                os << "must be between " << lo << " and " << hi << " (got " << d << ")";
                fail(key, os.str());
            }
            out = d;
        }
    }
    void boolean(const std::string& key, bool& out) {
        if (auto v = find(key)) {
            if (v->type != toml::node_type::boolean) fail(key, std::string("expected a boolean, got ") + type_name(v->type));
            out = v->boolean;
        }
    }
    void strings(const std::string& key, std::vector<std::string>& out) {
        if (auto v = find(key)) {
            if (v->type != toml::node_type::array) fail(key, std::string("expected an array of strings, got ") + type_name(v->type));
            out.clear();
            for (const auto& i : v->items) {
                if (i.type != toml::node_type::string) fail(key, "expected an array of strings");
                out.push_back(i.text);
            }
        }
    }
    void ints(const std::string& key, std::vector<int>& out) {
        if (auto v = find(key)) {
            if (v->type != toml::node_type::array) fail(key, std::string("expected an array of integers, got ") + type_name(v->type));
            out.clear();
            for (const auto& i : v->items) {
                if (i.type != toml::node_type::integer) fail(key, "expected an array of integers");
                out.push_back(static_cast<int>(i.integer));
            }
        }
    }
    // Keys under prefix (without the prefix), not yet read.
    std::vector<std::string> keys_under(const std::string& prefix) const {
        std::vector<std::string> r;
        for (const auto& [k, v] : values_)
            if (k.size() > prefix.size() && k.compare(0, prefix.size(), prefix) == 0) r.push_back(k.substr(prefix.size()));
        return r;
    }
    std::string scalar_text(const std::string& key) {
        const flat_value* v = find(key);
        switch (v->type) {
            case toml::node_type::string: return v->text;
            case toml::node_type::integer: return std::to_string(v->integer);
            case toml::node_type::boolean: return v->boolean ? "true" : "false";
            case toml::node_type::floating_point: {
                std::ostringstream os;
                os.imbue(std::locale::classic());
                os << v->floating;
                return os.str();
            }
            default: fail(key, "expected a string, number or boolean");
        }
    }
    void reject_unused() const {
        for (const auto& [k, v] : values_)
            if (!used_.count(k)) throw config_error("config: unknown key '" + k + "' (" + v.where + ")");
    }

private:
    std::map<std::string, flat_value> values_;
    std::set<std::string> used_;
};

// "${NAME}" anywhere in a value is replaced by the environment variable NAME,
// so secrets need not be written into the file.
std::string expand_environment(reader& r, const std::string& key, const std::string& value) {
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        const auto start = value.find("${", i);
        if (start == std::string::npos) break;
        const auto end = value.find('}', start + 2);
        if (end == std::string::npos) r.fail(key, "unterminated ${ in value");
        const std::string name = value.substr(start + 2, end - start - 2);
        const char* env = name.empty() ? nullptr : std::getenv(name.c_str());
        if (!env) r.fail(key, "environment variable '" + name + "' is not set");
        out.append(value, i, start - i).append(env);
        i = end + 1;
    }
    return out.append(value, i, std::string::npos);
}

// librdkafka properties under prefix. A key ending in "_file" names a file
// whose contents (without the trailing newline) are the value of the key
// without the suffix: a secret kept in a file readable only by the service.
void properties(reader& r, const std::string& prefix, std::map<std::string, std::string>& out) {
    for (const auto& k : r.keys_under(prefix)) {
        const std::string key = prefix + k;
        const std::string value = expand_environment(r, key, r.scalar_text(key));
        constexpr std::string_view suffix = "_file";
        if (k.size() > suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0) {
            std::ifstream in(value, std::ios::binary);
            if (!in) r.fail(key, "cannot read file '" + value + "'");
            std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
            out[k.substr(0, k.size() - suffix.size())] = content;
        } else {
            out[k] = value;
        }
    }
}

}  // namespace

std::string_view to_string(sink_placement p) noexcept {
    switch (p) {
        case sink_placement::threads: return "threads";
        case sink_placement::inline_: return "inline";
        case sink_placement::automatic: return "auto";
    }
    return "auto";
}

const std::vector<std::string>& settings::roles() {
    static const std::vector<std::string> r = {"source", "enrichment", "notification",
                                               "analytics", "commit", "stats"};
    return r;
}
const std::vector<std::string>& settings::sink_names() {
    static const std::vector<std::string> s = {"enrichment", "notification", "analytics"};
    return s;
}
bool settings::is_sink(std::string_view role) {
    const auto& s = sink_names();
    return std::find(s.begin(), s.end(), role) != s.end();
}

const std::vector<std::string>& settings::default_topics() {
    static const std::vector<std::string> t = {
        "portfolio.articles", "portfolio.projects", "portfolio.analytics",
        "portfolio.notifications", "user.created", "task.updated", "task.completed"};
    return t;
}

std::map<std::string, int> settings::broker_topics() const {
    std::map<std::string, int> t = {
        {"portfolio.articles", 3},      {"portfolio.projects", 3}, {"portfolio.analytics", 6},
        {"portfolio.notifications", 3}, {"user.created", 3},       {"task.updated", 3},
        {"task.completed", 3}};
    for (const auto& name : topics)
        if (!t.count(name)) t[name] = 3;
    if (!replay_file.empty()) t["replay"] = 1;  // for its dead-letter topic
    for (const auto& [name, parts] : embedded_topics) t[name] = parts;
    std::map<std::string, int> all = t;
    for (const auto& [name, parts] : t) all[name + dlq_suffix] = parts;
    for (const auto& [sink, out] : outputs)
        if (out.type == output_spec::kind::kafka && !all.count(out.target)) all[out.target] = 3;
    return all;
}

bool settings::stats_http_loopback() const {
    const auto colon = stats_http.rfind(':');
    const std::string host = colon == std::string::npos ? stats_http : stats_http.substr(0, colon);
    return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

void parse_source(const std::string& key, const std::string& text, settings& s) {
    if (text == "kafka") {
        s.replay_file.clear();
        return;
    }
    if (text.rfind("replay:", 0) == 0 && text.size() > 7) {
        s.replay_file = text.substr(7);
        return;
    }
    throw config_error("config: " + key + ": expected kafka or replay:FILE (got '" + text + "')");
}

output_spec parse_output(const std::string& key, const std::string& text) {
    output_spec o;
    if (text == "none") return o;
    if (text.rfind("kafka:", 0) == 0 && text.size() > 6) {
        o.type = output_spec::kind::kafka;
        o.target = text.substr(6);
        return o;
    }
    if (text.rfind("file:", 0) == 0 && text.size() > 5) {
        o.type = output_spec::kind::file;
        o.target = text.substr(5);
        return o;
    }
    throw config_error("config: " + key + ": expected kafka:TOPIC, file:PATH or none (got '" + text + "')");
}

settings load_settings(const std::string& path, const std::vector<std::string>& overrides) {
    std::string text;
    if (!path.empty()) {
        std::ifstream in(path, std::ios::binary);
        if (access(path.c_str(), R_OK) != 0 || !in) throw config_error("config: cannot read file '" + path + "'");
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return parse_settings(text, path, overrides);
}

settings parse_settings(std::string_view text, const std::string& origin, const std::vector<std::string>& overrides) {
    std::map<std::string, flat_value> values;
    if (!origin.empty()) {
        try {
            toml::table t = toml::parse(text, origin);
            flatten(t, "", origin, values);
        } catch (const toml::parse_error& e) {
            throw config_error("config: " + origin + ":" + std::to_string(e.source().begin.line) +
                               ": " + std::string(e.description()));
        }
    }
    for (const auto& o : overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0)
            throw config_error("config: --set '" + o + "': expected key=value");
        const std::string key = o.substr(0, eq);
        const std::string raw = o.substr(eq + 1);
        // Parsed as a TOML line, so dotted and quoted keys work as in a file
        // (routing."task.updated"=[...]); a bare word is taken as a string.
        std::map<std::string, flat_value> one;
        try {
            flatten(toml::parse(key + " = " + raw), "", "", one);
        } catch (const toml::parse_error&) {
            std::string quoted = "\"";
            for (char c : raw) {
                if (c == '"' || c == '\\') quoted.push_back('\\');
                quoted.push_back(c);
            }
            quoted.push_back('"');
            try {
                flatten(toml::parse(key + " = " + quoted), "", "", one);
            } catch (const toml::parse_error& e) {
                throw config_error("config: --set '" + o + "': " + std::string(e.description()));
            }
        }
        for (auto& [full, v] : one) {
            for (auto it = values.begin(); it != values.end();)  // replace a whole subtree
                it = it->first.rfind(full + ".", 0) == 0 ? values.erase(it) : std::next(it);
            values[full] = v;
        }
    }

    reader r(std::move(values));
    settings s;
    s.topics = settings::default_topics();
    for (const auto& n : settings::sink_names()) s.outputs[n] = {};
    s.outputs["enrichment"] = {output_spec::kind::kafka, "enriched.events"};
    s.outputs["notification"] = {output_spec::kind::kafka, "notifications.outbox"};
    s.outputs["analytics"] = {output_spec::kind::kafka, "analytics.rollups"};

    std::string source = "kafka";
    r.str("source", source);
    parse_source("source", source, s);
    r.str("kafka.bootstrap.servers", s.bootstrap_servers);
    if (s.bootstrap_servers.empty()) r.fail("kafka.bootstrap.servers", "must not be empty");
    r.str("kafka.group.id", s.group_id);
    if (s.group_id.empty()) r.fail("kafka.group.id", "must not be empty");
    r.strings("kafka.topics", s.topics);
    if (s.topics.empty()) r.fail("kafka.topics", "must name at least one topic");
    r.str("kafka.dlq.suffix", s.dlq_suffix);
    if (s.dlq_suffix.empty()) r.fail("kafka.dlq.suffix", "must not be empty");
    std::string format = dlq_format_name(s.dead_letter_format);
    r.str("kafka.dlq.format", format);
    if (auto f = parse_dlq_format(format)) s.dead_letter_format = *f;
    else r.fail("kafka.dlq.format", "must be headers or envelope (got '" + format + "')");
    s.trace_headers = default_trace_headers();
    r.strings("kafka.trace.headers", s.trace_headers);
    if (s.trace_headers.size() > max_trace_headers)
        r.fail("kafka.trace.headers", "at most " + std::to_string(max_trace_headers) + " headers");
    for (std::size_t i = 0; i < s.trace_headers.size(); ++i) {
        if (s.trace_headers[i].empty()) r.fail("kafka.trace.headers", "a header name must not be empty");
        for (std::size_t j = 0; j < i; ++j)
            if (s.trace_headers[i] == s.trace_headers[j])
                r.fail("kafka.trace.headers", "'" + s.trace_headers[i] + "' is listed twice");
    }
    properties(r, "kafka.properties.", s.kafka_properties);
    // sluice resolves start offsets itself (librdkafka gets "error"), so the
    // reset policy is its own setting under librdkafka's name.
    if (auto it = s.kafka_properties.find("auto.offset.reset"); it != s.kafka_properties.end()) {
        const std::string& v = it->second;
        if (v == "earliest" || v == "smallest" || v == "beginning") s.offset_reset = offset_reset_policy::earliest;
        else if (v == "latest" || v == "largest" || v == "end") s.offset_reset = offset_reset_policy::latest;
        else r.fail("kafka.properties.auto.offset.reset", "expected earliest or latest (got '" + v + "')");
        s.kafka_properties.erase(it);
    }
    properties(r, "kafka.producer.properties.", s.producer_properties);

    r.integer("embedded.brokers", s.embedded_brokers, 1, 16);
    for (const auto& k : r.keys_under("embedded.topics.")) {
        int p = 0;
        r.integer("embedded.topics." + k, p, 1, 10000);
        s.embedded_topics[k] = p;
    }

    r.integer("pipeline.ring.size", s.ring_size, 1, 1 << 22);
    r.integer("pipeline.max.payload.bytes", s.max_payload_bytes, 64, 64 << 20);
    if (r.find("pipeline.unconfirmed.max.events")) {
        r.integer("pipeline.unconfirmed.max.events", s.unconfirmed_max_events, 1, 1 << 24);
        if (s.unconfirmed_max_events < s.ring_size)
            r.fail("pipeline.unconfirmed.max.events", "must be at least pipeline.ring.size (" + std::to_string(s.ring_size) +
                                                    "): every slot's event is in flight");
    } else {
        s.unconfirmed_max_events = std::max<std::size_t>(16384, s.ring_size);
    }
    const bool bytes_given = r.find("pipeline.unconfirmed.max.bytes") != nullptr;
    r.integer("pipeline.unconfirmed.max.bytes", s.unconfirmed_max_bytes, 1 << 20, std::size_t(1) << 40);
    {
        // The bound keeps every producer's local queue from filling: it must
        // stay below the smallest queue (queue.buffering.max.kbytes).
        std::size_t queue_kb = 1048576;  // sluice's producer default
        const auto q = s.producer_properties.find("queue.buffering.max.kbytes");
        if (q != s.producer_properties.end()) {
            std::size_t v = 0;
            const auto [end, ec] = std::from_chars(q->second.data(), q->second.data() + q->second.size(), v);
            if (ec == std::errc() && end == q->second.data() + q->second.size()) queue_kb = v;
        }
        // Not given: half the producers' queue when that is smaller.
        if (!bytes_given)
            s.unconfirmed_max_bytes = std::min(s.unconfirmed_max_bytes, std::max<std::size_t>(queue_kb * 1024 / 2, 1 << 20));
        if (s.unconfirmed_max_bytes >= queue_kb * 1024)
            r.fail("pipeline.unconfirmed.max.bytes", "must be below the producers' queue.buffering.max.kbytes (" +
                                                   std::to_string(queue_kb) + " KiB = " + std::to_string(queue_kb * 1024) +
                                                   " bytes)");
    }
    r.integer("pipeline.pause.after.ms", s.pause_after_ms, 0, 600000);
    r.integer("pipeline.revoke.drain.timeout.ms", s.revoke_drain_timeout_ms, 0, 3600000);
    r.integer("shutdown.timeout.ms", s.shutdown_timeout_ms, 100, 3600000);
    r.integer("pipeline.wake.after.events", s.wake_after_events, 1, 1 << 22);
    std::string sinks = "auto";
    r.str("pipeline.sinks", sinks);
    if (sinks == "threads") s.sinks = sink_placement::threads;
    else if (sinks == "inline") s.sinks = sink_placement::inline_;
    else if (sinks == "auto") s.sinks = sink_placement::automatic;
    else r.fail("pipeline.sinks", "expected \"threads\", \"inline\" or \"auto\" (got '" + sinks + "')");

    r.integer("commit.max.events", s.commit_max_events, 1, 100000000);
    r.integer("commit.interval.ms", s.commit_interval_ms, 1, 3600000);

    r.str("stats.socket", s.stats_socket);
    r.str("stats.http", s.stats_http);
    std::int64_t mode = s.stats_socket_mode;
    if (auto v = r.find("stats.mode")) {
        if (v->type == toml::node_type::string) {
            try {
                mode = std::stol(v->text, nullptr, 8);
            } catch (...) {
                r.fail("stats.mode", "expected an octal mode such as \"0600\"");
            }
        } else if (v->type == toml::node_type::integer) {
            mode = v->integer;
        } else {
            r.fail("stats.mode", "expected an octal mode such as \"0600\"");
        }
        if (mode < 0 || mode > 0777) r.fail("stats.mode", "must be between 0000 and 0777");
    }
    s.stats_socket_mode = static_cast<std::uint32_t>(mode);
    r.integer("stats.max.clients", s.stats_max_clients, 1, 4096);
    if (!s.stats_http.empty()) {
        const auto colon = s.stats_http.rfind(':');
        const std::string host = colon == std::string::npos ? "" : s.stats_http.substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : s.stats_http.substr(colon + 1);
        if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
            std::stol(port) > 65535)
            r.fail("stats.http", "expected host:port such as 127.0.0.1:9464");
    }

    const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    for (const auto& role : settings::roles()) {
        thread_settings t;
        // Default: park. Never spin by default: on 2 cores the roles outnumber them.
        const std::string p = "threads." + role + ".";
        r.ints(p + "cpus", t.cpus);
        for (int c : t.cpus)
            if (c < 0 || c >= ncpu)
                r.fail(p + "cpus", "CPU " + std::to_string(c) + " does not exist (this machine has " +
                                       std::to_string(ncpu) + ")");
        std::string wait = "park";
        r.str(p + "wait", wait);
        try {
            t.wait = parse_wait_kind(wait);
        } catch (const std::invalid_argument& e) {
            r.fail(p + "wait", e.what());
        }
        r.integer(p + "spin", t.spin, 0, 100000000);
        s.threads[role] = t;
    }
    for (const auto& k : r.keys_under("threads.")) {
        const std::string role = k.substr(0, k.find('.'));
        if (!s.threads.count(role))
            r.fail("threads." + k, "unknown thread role '" + role +
                                       "' (roles: source, enrichment, notification, analytics, commit, stats)");
        // Inline sinks have no thread of their own: a setting for one would do nothing.
        if (s.sinks == sink_placement::inline_ && settings::is_sink(role))
            r.fail("threads." + k, "sink " + role + " has no thread with pipeline.sinks = \"inline\" "
                                   "(it runs on the source thread: set threads.source, or pipeline.sinks = \"threads\")");
    }

    for (const auto& n : settings::sink_names()) {
        std::string text;
        r.str("sinks." + n + ".output", text);
        if (!text.empty()) s.outputs[n] = parse_output("sinks." + n + ".output", text);
    }
    r.str("sinks.enrichment.directory.topic", s.directory_topic);
    r.str("sinks.enrichment.directory.bootstrap.file", s.directory_bootstrap_file);
    r.integer("sinks.enrichment.directory.sync.timeout.ms", s.directory_sync_timeout_ms, 0, 3600000);
    r.integer("sinks.notification.dedup.capacity", s.dedup_capacity, 1, 1 << 26);
    r.integer("sinks.retry.max.attempts", s.retry_max_attempts, 1, 100);
    r.integer("sinks.retry.backoff.ms", s.retry_backoff_ms, 1, 600000);
    r.integer("sinks.retry.backoff.max.ms", s.retry_backoff_max_ms, 1, 3600000);
    r.integer("sinks.analytics.window.ms", s.window_ms, 1, 86400000);
    r.integer("sinks.analytics.top.k", s.top_k, 1, 1000);

    s.routing = {};
    for (const auto& k : r.keys_under("routing.")) {
        std::vector<std::string> v;
        r.strings("routing." + k, v);
        s.routing[k] = v;
    }

    r.str("log.level", s.log_level);
    if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warning" && s.log_level != "error")
        r.fail("log.level", "expected debug, info, warning or error (got '" + s.log_level + "')");
    r.str("log.format", s.log_format);
    if (s.log_format != "text" && s.log_format != "json")
        r.fail("log.format", "expected text or json (got '" + s.log_format + "')");

    r.number("loadgen.rate", s.loadgen_rate, 0, 1e9);
    r.integer("loadgen.count", s.loadgen_count, 0, std::int64_t(1) << 50);
    r.number("run.duration.s", s.duration_s, 0, 1e9);
    r.boolean("run.progress", s.progress);

    r.reject_unused();
    return s;
}

}  // namespace sluice
