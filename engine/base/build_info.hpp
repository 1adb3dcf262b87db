// What this binary is: its version, git revision, library versions and the CPU features it was built for.
#pragma once

#include <string>

namespace sluice {

struct build_info {
    std::string version, revision, librdkafka, simdjson, simdjson_kernel, liburing, cpu_features;
    static const build_info& get();
    // Several lines for `sluice --version`.
    std::string text() const;
};

}  // namespace sluice
