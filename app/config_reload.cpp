// Reloading the configuration on SIGHUP, and telling the operator what changed.
#include "config_reload.hpp"

#include <sstream>

#include "base/log.hpp"
#include "config/config_dump.hpp"
#include "config/config_registry.hpp"
#include "seed_config.hpp"

namespace sluice {

std::map<std::string, std::string> flat_settings(const settings& s) {
    std::map<std::string, std::string> out;
    std::istringstream in(effective_config(s));
    std::string section;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        if (line[0] == '[') {
            section = line.substr(1, line.find(']') - 1);
            continue;
        }
        const auto eq = line.find(" = ");
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq);
        if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
        out[section.empty() ? key : section + "." + key] = line.substr(eq + 3);
    }
    return out;
}

void config_reloader::reload(pipeline& p) {
    settings next;
    try {
        next = load_settings(options_.config, options_.sets);
        if (options_.duration_s >= 0) next.duration_s = options_.duration_s;
        if (!options_.source.empty()) parse_source("--source", options_.source, next);
        if (running_.log_format == "json") next.progress = running_.progress;  // as run_command() set it
        p.reload(next);
    } catch (const config_error& e) {
        logf(log_level::error, "reload", "%s; the running configuration stays", e.what());
        return;
    }
    const auto before = flat_settings(running_), after = flat_settings(next);
    std::map<std::string, std::string> keys;  // every key in either
    for (const auto& [k, v] : before) keys[k];
    for (const auto& [k, v] : after) keys[k];
    int applied = 0, kept = 0;
    for (const auto& [key, unused] : keys) {
        const auto b = before.find(key), a = after.find(key);
        const std::string old_value = b == before.end() ? "(unset)" : b->second;
        const std::string new_value = a == after.end() ? "(unset)" : a->second;
        if (old_value == new_value) continue;
        if (p.reloadable(key)) {
            ++applied;
            logf(log_level::info, "reload", "%s: %s -> %s", key.c_str(), old_value.c_str(), new_value.c_str());
        } else {
            ++kept;
            logf(log_level::warning, "reload", "%s: changed to %s, but takes a restart; keeping %s", key.c_str(),
                 new_value.c_str(), old_value.c_str());
        }
    }
    log_set_level(*parse_log_level(next.log_level));
    running_.keys->take_reloadable(running_, next);
    logf(log_level::info, "reload", "reloaded %s: %d change%s applied, %d kept until a restart",
         options_.config.empty() ? "(no file: the defaults and --set)" : options_.config.c_str(), applied,
         applied == 1 ? "" : "s", kept);
}

}  // namespace sluice
