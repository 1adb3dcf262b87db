// The keys the sinks' outputs read: producer properties, where each sink
// writes, and how a failed write is retried.
#include "config/config_modules.hpp"

namespace sluice {

void register_output_keys(config_registry& keys, const config_domain& domain) {
    keys.add({"kafka.producer.properties.", [](config_reader& r, settings& s) {
                  read_properties(r, "kafka.producer.properties.", s.producer_properties);
              }});
    for (const auto& n : domain.sink_names) {
        const std::string key = "sinks." + n + ".output";
        keys.add({key,
                  [key, n](config_reader& r, settings& s) {
                      std::string text;
                      r.str(key, text);
                      if (!text.empty()) s.outputs[n] = parse_output(key, text);
                  },
                  [n](const settings& s) {
                      const output_spec& o = s.outputs.at(n);
                      switch (o.type) {
                          case output_spec::kind::kafka: return toml_quoted("kafka:" + o.target);
                          case output_spec::kind::file: return toml_quoted("file:" + o.target);
                          case output_spec::kind::none: break;
                      }
                      return toml_quoted("none");
                  }});
    }
    // Reloadable: a delivery tracker takes them at its next retry.
    keys.integer("sinks.retry.max.attempts", &settings::retry_max_attempts, 1, 100, true);
    keys.integer("sinks.retry.backoff.ms", &settings::retry_backoff_ms, 1, 600000, true);
    keys.integer("sinks.retry.backoff.max.ms", &settings::retry_backoff_max_ms, 1, 3600000, true);
}

}  // namespace sluice
