// The keys the log reads: level and line format.
#include "config/config_modules.hpp"

namespace sluice {

void register_log_keys(config_registry& keys) {
    keys.add({"log.level",
              [](config_reader& r, settings& s) {
                  r.str("log.level", s.log_level);
                  if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warning" && s.log_level != "error")
                      r.fail("log.level", "expected debug, info, warning or error (got '" + s.log_level + "')");
              },
              [](const settings& s) { return toml_quoted(s.log_level); },
              // Reloadable: the level is one atomic the log reads per line.
              [](settings& to, const settings& from) { to.log_level = from.log_level; }});
    keys.add({"log.format", [](config_reader& r, settings& s) {
                  r.str("log.format", s.log_format);
                  if (s.log_format != "text" && s.log_format != "json")
                      r.fail("log.format", "expected text or json (got '" + s.log_format + "')");
              }});
}

}  // namespace sluice
