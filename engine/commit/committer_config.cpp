// The keys the committer reads: how many events or how long between commits.
#include "config/config_modules.hpp"

namespace sluice {

void register_commit_keys(config_registry& keys) {
    // Reloadable: the commit thread takes them at its next decision.
    keys.integer("commit.max.events", &settings::commit_max_events, 1, 100000000, true);
    keys.integer("commit.interval.ms", &settings::commit_interval_ms, 1, 3600000, true);
}

}  // namespace sluice
