// Loading settings: TOML and --set flattened to dotted keys, then each
// module's registered keys read from them in a fixed order.
#include "config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <locale>
#include <sstream>

#include <toml++/toml.h>

#include "config/config_modules.hpp"
#include "config/config_registry.hpp"

namespace sluice {
namespace {

// --- reading and flattening ---------------------------------------------

flat_value::kind kind_of(toml::node_type t) {
    switch (t) {
        case toml::node_type::string: return flat_value::kind::string;
        case toml::node_type::integer: return flat_value::kind::integer;
        case toml::node_type::floating_point: return flat_value::kind::floating;
        case toml::node_type::boolean: return flat_value::kind::boolean;
        case toml::node_type::array: return flat_value::kind::array;
        case toml::node_type::table: return flat_value::kind::table;
        default: return flat_value::kind::other;
    }
}

flat_value to_flat(const toml::node& n, const std::string& where) {
    flat_value v;
    v.type = kind_of(n.type());
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

void flatten(const toml::table& t, const std::string& prefix, const std::string& file, flat_values& out) {
    for (const auto& [k, node] : t) {
        const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (auto sub = node.as_table()) flatten(*sub, key, file, out);
        else out[key] = to_flat(node, where_of(node, file));
    }
}

// The file's values by dotted key (none when origin is empty: defaults only).
flat_values read_file_values(std::string_view text, const std::string& origin) {
    flat_values values;
    if (origin.empty()) return values;
    try {
        toml::table t = toml::parse(text, origin);
        flatten(t, "", origin, values);
    } catch (const toml::parse_error& e) {
        throw config_error("config: " + origin + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
    }
    return values;
}

// Each "key=value" over the file's values; a table given replaces the whole subtree.
void apply_overrides(const std::vector<std::string>& overrides, flat_values& values) {
    for (const auto& o : overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0) throw config_error("config: --set '" + o + "': expected key=value");
        const std::string key = o.substr(0, eq);
        const std::string raw = o.substr(eq + 1);
        // Parsed as a TOML line, so dotted and quoted keys work as in a file
        // (routing."task.updated"=[...]); a bare word is taken as a string.
        flat_values one;
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
}

// The settings before any key is read: the engine's defaults and the domain's.
settings domain_defaults(std::shared_ptr<const config_domain> domain, std::shared_ptr<const config_registry> keys) {
    settings s;
    for (const auto& [topic, partitions] : domain->topics) s.topics.push_back(topic);
    for (const auto& n : domain->sink_names) s.outputs[n] = {};
    for (const auto& [sink, out] : domain->outputs) s.outputs[sink] = out;
    s.sink_settings = domain->sink_settings;
    s.domain = std::move(domain);
    s.keys = std::move(keys);
    return s;
}

const char* type_name(flat_value::kind t) {
    switch (t) {
        case flat_value::kind::string: return "a string";
        case flat_value::kind::integer: return "an integer";
        case flat_value::kind::floating: return "a number";
        case flat_value::kind::boolean: return "a boolean";
        case flat_value::kind::array: return "an array";
        case flat_value::kind::table: return "a table";
        default: return "a date/time";
    }
}

bool is_table(const std::string& name) { return !name.empty() && name.back() == '.'; }

}  // namespace

// --- the typed reader ---------------------------------------------------

void config_reader::fail(const std::string& key, const std::string& problem) const {
    auto it = values_.find(key);
    std::string where = it != values_.end() ? " (" + it->second.where + ")" : "";
    throw config_error("config: " + key + ": " + problem + where);
}

const flat_value* config_reader::find(const std::string& key) {
    auto it = values_.find(key);
    if (it == values_.end()) return nullptr;
    used_.insert(key);
    return &it->second;
}

void config_reader::str(const std::string& key, std::string& out) {
    if (auto v = find(key)) {
        if (v->type != flat_value::kind::string) fail(key, std::string("expected a string, got ") + type_name(v->type));
        out = v->text;
    }
}

void config_reader::integer(const std::string& key, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
    if (auto v = find(key)) {
        if (v->type != flat_value::kind::integer) fail(key, std::string("expected an integer, got ") + type_name(v->type));
        if (v->integer < lo || v->integer > hi)
            fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                          std::to_string(v->integer) + ")");
        out = v->integer;
    }
}

void config_reader::number(const std::string& key, double& out, double lo, double hi) {
    if (auto v = find(key)) {
        double d;
        if (v->type == flat_value::kind::integer) d = double(v->integer);
        else if (v->type == flat_value::kind::floating) d = v->floating;
        else fail(key, std::string("expected a number, got ") + type_name(v->type));
        if (!(d >= lo && d <= hi)) {
            std::ostringstream os;
            os << "must be between " << lo << " and " << hi << " (got " << d << ")";
            fail(key, os.str());
        }
        out = d;
    }
}

void config_reader::boolean(const std::string& key, bool& out) {
    if (auto v = find(key)) {
        if (v->type != flat_value::kind::boolean) fail(key, std::string("expected a boolean, got ") + type_name(v->type));
        out = v->boolean;
    }
}

void config_reader::strings(const std::string& key, std::vector<std::string>& out) {
    if (auto v = find(key)) {
        if (v->type != flat_value::kind::array)
            fail(key, std::string("expected an array of strings, got ") + type_name(v->type));
        out.clear();
        for (const auto& i : v->items) {
            if (i.type != flat_value::kind::string) fail(key, "expected an array of strings");
            out.push_back(i.text);
        }
    }
}

void config_reader::ints(const std::string& key, std::vector<int>& out) {
    if (auto v = find(key)) {
        if (v->type != flat_value::kind::array)
            fail(key, std::string("expected an array of integers, got ") + type_name(v->type));
        out.clear();
        for (const auto& i : v->items) {
            if (i.type != flat_value::kind::integer) fail(key, "expected an array of integers");
            out.push_back(static_cast<int>(i.integer));
        }
    }
}

std::vector<std::string> config_reader::keys_under(const std::string& prefix) const {
    std::vector<std::string> r;
    for (const auto& [k, v] : values_)
        if (k.size() > prefix.size() && k.compare(0, prefix.size(), prefix) == 0) r.push_back(k.substr(prefix.size()));
    return r;
}

std::string config_reader::scalar_text(const std::string& key) {
    const flat_value* v = find(key);
    switch (v->type) {
        case flat_value::kind::string: return v->text;
        case flat_value::kind::integer: return std::to_string(v->integer);
        case flat_value::kind::boolean: return v->boolean ? "true" : "false";
        case flat_value::kind::floating: {
            std::ostringstream os;
            os.imbue(std::locale::classic());
            os << v->floating;
            return os.str();
        }
        default: fail(key, "expected a string, number or boolean");
    }
}

// --- environment expansion ----------------------------------------------

std::string config_reader::expand_environment(const std::string& key, const std::string& value) const {
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        const auto start = value.find("${", i);
        if (start == std::string::npos) break;
        const auto end = value.find('}', start + 2);
        if (end == std::string::npos) fail(key, "unterminated ${ in value");
        const std::string name = value.substr(start + 2, end - start - 2);
        const char* env = name.empty() ? nullptr : std::getenv(name.c_str());
        if (!env) fail(key, "environment variable '" + name + "' is not set");
        out.append(value, i, start - i).append(env);
        i = end + 1;
    }
    return out.append(value, i, std::string::npos);
}

void read_properties(config_reader& r, const std::string& prefix, std::map<std::string, std::string>& out) {
    for (const auto& k : r.keys_under(prefix)) {
        const std::string key = prefix + k;
        const std::string value = r.expand_environment(key, r.scalar_text(key));
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

void config_reader::reject_unused() const {
    for (const auto& [k, v] : values_)
        if (!used_.count(k)) throw config_error("config: unknown key '" + k + "' (" + v.where + ")");
}

std::string toml_quoted(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q.push_back('\\');
        if (static_cast<unsigned char>(c) < 0x20) {
            static const char hex[] = "0123456789abcdef";
            q += "\\u00";
            q.push_back(hex[(c >> 4) & 0xf]);
            q.push_back(hex[c & 0xf]);
            continue;
        }
        q.push_back(c);
    }
    q.push_back('"');
    return q;
}

// --- the registry -------------------------------------------------------

void config_registry::add(config_key k) {
    for (const auto& e : keys_) {
        const bool clash = e.name == k.name || (is_table(e.name) && k.name.rfind(e.name, 0) == 0) ||
                           (is_table(k.name) && e.name.rfind(k.name, 0) == 0);
        if (clash)
            throw std::logic_error("config key '" + k.name + "' registered twice (it overlaps '" + e.name + "')");
    }
    keys_.push_back(std::move(k));
}

// --- per-module application, then cross-key validation -------------------

void config_registry::apply(config_reader& r, settings& s) const {
    for (const auto& k : keys_) k.read(r, s);
    for (const auto& check : checks_) check(r, s);
    r.reject_unused();
}

bool config_registry::reloadable(const std::string& key) const {
    for (const auto& k : keys_)
        if (k.take && (k.name == key || (is_table(k.name) && key.rfind(k.name, 0) == 0))) return true;
    return false;
}

void config_registry::take_reloadable(settings& to, const settings& from) const {
    for (const auto& k : keys_)
        if (k.take) k.take(to, from);
}

// --- settings -----------------------------------------------------------

std::string_view to_string(sink_placement p) noexcept {
    switch (p) {
        case sink_placement::threads: return "threads";
        case sink_placement::inline_: return "inline";
        case sink_placement::automatic: return "auto";
    }
    return "auto";
}

const std::vector<std::string>& settings::sink_names() const {
    static const std::vector<std::string> none;
    return domain ? domain->sink_names : none;
}

std::vector<std::string> settings::roles() const {
    std::vector<std::string> r = {"source"};
    for (const auto& n : sink_names()) r.push_back(n);
    r.push_back("commit");
    r.push_back("stats");
    return r;
}

bool settings::is_sink(std::string_view role) const {
    const auto& s = sink_names();
    return std::find(s.begin(), s.end(), role) != s.end();
}

std::map<std::string, std::vector<std::string>> settings::routes() const {
    std::map<std::string, std::vector<std::string>> r;
    if (domain) r = domain->routes;
    for (const auto& [type, sinks] : routing) r[type] = sinks;
    return r;
}

std::map<std::string, int> settings::broker_topics() const {
    std::map<std::string, int> t;
    if (domain)
        for (const auto& [name, parts] : domain->topics) t[name] = parts;
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

// The one place that says which modules read keys, and in what order (a
// key's reader may look at keys registered before it).
std::shared_ptr<const config_registry> build_config_registry(const config_domain& domain) {
    auto keys = std::make_shared<config_registry>();
    register_source_keys(*keys);
    register_dead_letter_keys(*keys);
    register_output_keys(*keys, domain);
    register_embedded_broker_keys(*keys);
    register_pipeline_keys(*keys);
    register_commit_keys(*keys);
    register_stats_keys(*keys);
    register_thread_keys(*keys);
    if (domain.register_keys) domain.register_keys(*keys);
    register_routing_keys(*keys);
    register_log_keys(*keys);
    register_loadgen_keys(*keys);
    register_run_keys(*keys);
    return keys;
}

settings load_settings(std::shared_ptr<const config_domain> domain, const std::string& path,
                       const std::vector<std::string>& overrides) {
    std::string text;
    if (!path.empty()) {
        std::ifstream in(path, std::ios::binary);
        if (access(path.c_str(), R_OK) != 0 || !in) throw config_error("config: cannot read file '" + path + "'");
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return parse_settings(std::move(domain), text, path, overrides);
}

settings parse_settings(std::shared_ptr<const config_domain> domain, std::string_view text, const std::string& origin,
                        const std::vector<std::string>& overrides) {
    flat_values values = read_file_values(text, origin);
    apply_overrides(overrides, values);
    auto keys = build_config_registry(*domain);
    settings s = domain_defaults(std::move(domain), keys);
    config_reader r(std::move(values));
    keys->apply(r, s);
    return s;
}

}  // namespace sluice
