// The keys `sluice run` reads: how long to run and whether to print progress.
#include "config/config_modules.hpp"

namespace sluice {

void register_run_keys(config_registry& keys) {
    keys.add({"run.duration.s", [](config_reader& r, settings& s) { r.number("run.duration.s", s.duration_s, 0, 1e9); }});
    keys.add({"run.progress", [](config_reader& r, settings& s) { r.boolean("run.progress", s.progress); }});
}

}  // namespace sluice
