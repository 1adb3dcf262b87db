// The seed systems' configuration: their sinks, topics, outputs, routes and
// the sinks' own settings, plugged into the engine as a config_domain.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace sluice {

// The seed sinks' own settings (keys under sinks.<name>.), held opaquely
// in settings::sink_settings.
struct seed_sink_settings {
    // enrichment (and notification: both follow the user directory)
    std::string directory_topic = "user.created";
    std::string directory_bootstrap_file;  // JSON lines of user.created events, optional
    std::uint32_t directory_sync_timeout_ms = 30000;
    // notification
    std::size_t dedup_capacity = 1 << 16;
    // analytics
    std::uint64_t window_ms = 10000;  // reloadable: taken when a window opens
    std::size_t top_k = 10;
};
// The seed sinks' settings in settings read with seed_domain().
const seed_sink_settings& seed_sink_settings_of(const settings& s);

// enrichment, notification, analytics (in their sink-bit order), the
// portfolio and task topics, their outputs and routes, and the keys above.
std::shared_ptr<const config_domain> seed_domain();
// The default kafka.topics.
const std::vector<std::string>& seed_topics();
// The seed systems' routes (event type -> sinks; "default" for the rest).
const std::map<std::string, std::vector<std::string>>& seed_routes();

// load_settings() and parse_settings() (config.hpp) with the seed domain.
settings load_settings(const std::string& path, const std::vector<std::string>& overrides);
settings parse_settings(std::string_view text, const std::string& origin, const std::vector<std::string>& overrides);

}  // namespace sluice
