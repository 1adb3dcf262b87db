// The keys the dead-letter producer reads: its topics' suffix and record format.
#include "config/config_modules.hpp"

namespace sluice {

void register_dead_letter_keys(config_registry& keys) {
    keys.add({"kafka.dlq.suffix", [](config_reader& r, settings& s) {
                  r.str("kafka.dlq.suffix", s.dlq_suffix);
                  if (s.dlq_suffix.empty()) r.fail("kafka.dlq.suffix", "must not be empty");
              }});
    keys.add({"kafka.dlq.format", [](config_reader& r, settings& s) {
                  std::string format = dlq_format_name(s.dead_letter_format);
                  r.str("kafka.dlq.format", format);
                  if (auto f = parse_dlq_format(format)) s.dead_letter_format = *f;
                  else r.fail("kafka.dlq.format", "must be headers or envelope (got '" + format + "')");
              }});
}

}  // namespace sluice
