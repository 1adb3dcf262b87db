// The keys the embedded broker reads: its size and extra topics.
#include "config/config_modules.hpp"

namespace sluice {

void register_embedded_broker_keys(config_registry& keys) {
    keys.integer("embedded.brokers", &settings::embedded_brokers, 1, 16);
    keys.add({"embedded.topics.", [](config_reader& r, settings& s) {
                  for (const auto& k : r.keys_under("embedded.topics.")) {
                      int p = 0;
                      r.integer("embedded.topics." + k, p, 1, 10000);
                      s.embedded_topics[k] = p;
                  }
              }});
}

}  // namespace sluice
