// libFuzzer target: arbitrary text as a configuration file. It is either
// accepted or rejected with a config_error naming the problem; nothing else
// escapes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "seed_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const sluice::settings s = sluice::parse_settings(text, "fuzz.toml", {});
        if (s.ring_size == 0 || s.group_id.empty()) std::abort();  // validation let an impossible value through
    } catch (const sluice::config_error& e) {
        if (std::string_view(e.what()).rfind("config: ", 0) != 0) std::abort();
    }
    return 0;
}
