// The keys the role threads read: CPUs, wait strategy and spin, per role.
#include <unistd.h>

#include <stdexcept>

#include "config/config_modules.hpp"

namespace sluice {

void register_thread_keys(config_registry& keys) {
    // The roles are settings::roles(): the domain's sinks among them.
    keys.add({"threads.", [](config_reader& r, settings& s) {
                  const long ncpu = sysconf(_SC_NPROCESSORS_CONF);
                  const std::vector<std::string> roles = s.roles();
                  for (const auto& role : roles) {
                      thread_settings t;
                      // Default: park. Never spin by default: on 2 cores the roles outnumber them.
                      const std::string p = "threads." + role + ".";
                      r.ints(p + "cpus", t.cpus);
                      for (int c : t.cpus)
                          if (c < 0 || c >= ncpu)
                              r.fail(p + "cpus", "CPU " + std::to_string(c) + " does not exist (this machine has " +
                                                     std::to_string(ncpu) + ")");
                      std::string wait = "park";
                      r.str(p + "wait", wait);
                      try {
                          t.wait = parse_wait_kind(wait);
                      } catch (const std::invalid_argument& e) {
                          r.fail(p + "wait", e.what());
                      }
                      r.integer(p + "spin", t.spin, 0, 100000000);
                      s.threads[role] = t;
                  }
                  std::string names;
                  for (const auto& role : roles) names += (names.empty() ? "" : ", ") + role;
                  for (const auto& k : r.keys_under("threads.")) {
                      const std::string role = k.substr(0, k.find('.'));
                      if (!s.threads.count(role))
                          r.fail("threads." + k, "unknown thread role '" + role + "' (roles: " + names + ")");
                      // Inline sinks have no thread of their own: a setting for one would
                      // do nothing. (pipeline.sinks is registered before threads.)
                      if (s.sinks == sink_placement::inline_ && s.is_sink(role))
                          r.fail("threads." + k, "sink " + role + " has no thread with pipeline.sinks = \"inline\" "
                                                 "(it runs on the source thread: set threads.source, or pipeline.sinks = \"threads\")");
                  }
              }});
}

}  // namespace sluice
