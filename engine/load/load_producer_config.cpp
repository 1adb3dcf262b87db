// The keys the built-in load producer reads.
#include "config/config_modules.hpp"

namespace sluice {

void register_loadgen_keys(config_registry& keys) {
    keys.add({"loadgen.rate", [](config_reader& r, settings& s) { r.number("loadgen.rate", s.loadgen_rate, 0, 1e9); }});
    keys.integer("loadgen.count", &settings::loadgen_count, 0, std::int64_t(1) << 50);
}

}  // namespace sluice
