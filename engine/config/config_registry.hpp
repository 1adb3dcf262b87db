// The configuration keys, each registered by the module that reads it, and
// the typed reader they read the flattened file and --set values with.
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/config.hpp"

namespace sluice {

// One value from the file or --set, under its dotted key.
struct flat_value {
    enum class kind { string, integer, floating, boolean, array, table, other } type = kind::other;
    std::string text;  // string values
    std::int64_t integer = 0;
    double floating = 0;
    bool boolean = false;
    std::vector<flat_value> items;  // arrays
    std::string where;              // "file:line" or "--set"
};
using flat_values = std::map<std::string, flat_value>;

// Typed access that remembers which keys were read, so leftovers are unknown.
// Every failure is a config_error naming the key (and where it was set).
class config_reader {
public:
    explicit config_reader(flat_values values) : values_(std::move(values)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
    // The value, marked read; nullptr if not set.
    const flat_value* find(const std::string& key);
    void str(const std::string& key, std::string& out);
    void integer(const std::string& key, std::int64_t& out, std::int64_t lo, std::int64_t hi);
    template <typename Int>
    void integer(const std::string& key, Int& out, std::int64_t lo, std::int64_t hi) {
        std::int64_t v = static_cast<std::int64_t>(out);
        if (!find(key)) return;
        integer(key, v, lo, hi);
        out = static_cast<Int>(v);
    }
    void number(const std::string& key, double& out, double lo, double hi);
    void boolean(const std::string& key, bool& out);
    void strings(const std::string& key, std::vector<std::string>& out);
    void ints(const std::string& key, std::vector<int>& out);
    // Keys under prefix (without the prefix), read or not.
    std::vector<std::string> keys_under(const std::string& prefix) const;
    // A string, number or boolean as text (librdkafka properties).
    std::string scalar_text(const std::string& key);
    // "${NAME}" anywhere in value is replaced by the environment variable
    // NAME, so secrets need not be written into the file.
    std::string expand_environment(const std::string& key, const std::string& value) const;
    // Throws naming the first key no module read.
    void reject_unused() const;

private:
    flat_values values_;
    std::set<std::string> used_;
};

// librdkafka properties under prefix (a table). A key ending in "_file"
// names a file whose contents (without the trailing newline) are the value
// of the key without the suffix: a secret kept in a file readable only by
// the service.
void read_properties(config_reader& r, const std::string& prefix, std::map<std::string, std::string>& out);

// A string as a TOML basic string (quotes and control characters escaped).
std::string toml_quoted(std::string_view s);

// The domain's settings struct, or a logic_error when the settings were
// loaded with another domain (a programming error, named).
template <typename Owner, typename Any>
auto& domain_part(Any& held) {
    auto* p = std::any_cast<Owner>(&held);
    if (!p) throw std::logic_error("config: these settings hold another domain's sink settings");
    return *p;
}

// Where a typed key stores its value: a member of settings, or of the
// domain's own settings struct (held in settings::sink_settings).
template <typename Owner>
Owner& settings_part(settings& s) {
    if constexpr (std::is_same_v<Owner, settings>) return s;
    else return domain_part<Owner>(s.sink_settings);
}
template <typename Owner>
const Owner& settings_part(const settings& s) {
    if constexpr (std::is_same_v<Owner, settings>) return s;
    else return domain_part<Owner>(s.sink_settings);
}

// One registered key, or a table: a name ending in '.' owns every key under it.
struct config_key {
    std::string name;
    // Reads the key from the reader into settings, validating it (its
    // default is what settings holds before). Runs in registration order,
    // so it may look at keys registered before it.
    std::function<void(config_reader&, settings&)> read;
    // The value as TOML text, where `sluice check` prints a registered
    // key generically (the sinks' own keys); empty: not printed that way.
    std::function<std::string(const settings&)> print;
    // Copies the value from one settings to another: set for the keys a
    // running pipeline takes on reload, empty for the rest.
    std::function<void(settings& to, const settings& from)> take;
};

// Design: built on the control thread by build_config_registry() (config.cpp),
// which calls each module's registration function in a fixed order; read-only
// afterwards, shared by every settings parsed with it.
class config_registry {
public:
    // Throws std::logic_error if the name, or a table it is in or that it
    // is, is registered already: two modules reading one key is a bug.
    void add(config_key k);
    // A check across keys, run after every key is read.
    void check(std::function<void(config_reader&, settings&)> f) { checks_.push_back(std::move(f)); }

    // Typed keys: stored in a member of Owner, default = its value there.
    template <typename Owner, typename Int>
    void integer(const std::string& name, Int Owner::*field, std::int64_t lo, std::int64_t hi, bool reloadable = false) {
        add({name,
             [=](config_reader& r, settings& s) { r.integer(name, settings_part<Owner>(s).*field, lo, hi); },
             [=](const settings& s) { return std::to_string(settings_part<Owner>(s).*field); },
             take_of(field, reloadable)});
    }
    template <typename Owner>
    void text(const std::string& name, std::string Owner::*field, bool reloadable = false) {
        add({name, [=](config_reader& r, settings& s) { r.str(name, settings_part<Owner>(s).*field); },
             [=](const settings& s) { return toml_quoted(settings_part<Owner>(s).*field); }, take_of(field, reloadable)});
    }

    // Reads every key in registration order, then the checks; rejects keys
    // no module registered (or a table's module did not read).
    void apply(config_reader& r, settings& s) const;
    const std::vector<config_key>& keys() const noexcept { return keys_; }
    // Whether a key (as effective_config() names it) is one a reload takes.
    bool reloadable(const std::string& key) const;
    // Copies every reloadable value from `from` into `to`.
    void take_reloadable(settings& to, const settings& from) const;

private:
    template <typename Owner, typename T>
    static std::function<void(settings&, const settings&)> take_of(T Owner::*field, bool reloadable) {
        if (!reloadable) return {};
        return [=](settings& to, const settings& from) { settings_part<Owner>(to).*field = settings_part<Owner>(from).*field; };
    }

    std::vector<config_key> keys_;
    std::vector<std::function<void(config_reader&, settings&)>> checks_;
};

}  // namespace sluice
