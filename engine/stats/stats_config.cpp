// The keys the stats server reads: its socket, HTTP address and limits.
#include "config/config_modules.hpp"

namespace sluice {

void register_stats_keys(config_registry& keys) {
    keys.text("stats.socket", &settings::stats_socket);
    keys.text("stats.http", &settings::stats_http);
    keys.add({"stats.mode", [](config_reader& r, settings& s) {
                  std::int64_t mode = s.stats_socket_mode;
                  if (auto v = r.find("stats.mode")) {
                      if (v->type == flat_value::kind::string) {
                          try {
                              mode = std::stol(v->text, nullptr, 8);
                          } catch (...) {
                              r.fail("stats.mode", "expected an octal mode such as \"0600\"");
                          }
                      } else if (v->type == flat_value::kind::integer) {
                          mode = v->integer;
                      } else {
                          r.fail("stats.mode", "expected an octal mode such as \"0600\"");
                      }
                      if (mode < 0 || mode > 0777) r.fail("stats.mode", "must be between 0000 and 0777");
                  }
                  s.stats_socket_mode = static_cast<std::uint32_t>(mode);
              }});
    keys.integer("stats.max.clients", &settings::stats_max_clients, 1, 4096);
    keys.check([](config_reader& r, settings& s) {
        if (s.stats_http.empty()) return;
        const auto colon = s.stats_http.rfind(':');
        const std::string host = colon == std::string::npos ? "" : s.stats_http.substr(0, colon);
        const std::string port = colon == std::string::npos ? "" : s.stats_http.substr(colon + 1);
        if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
            std::stol(port) > 65535)
            r.fail("stats.http", "expected host:port such as 127.0.0.1:9464");
    });
}

}  // namespace sluice
