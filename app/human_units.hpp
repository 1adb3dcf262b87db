// Durations for people: 850ns, 4.2us, 1.25ms, 2.00s.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace sluice {

inline std::string human_ns(std::uint64_t ns) {
    char buf[32];
    if (ns < 1'000) std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
    else if (ns < 1'000'000) std::snprintf(buf, sizeof buf, "%.1fus", double(ns) / 1e3);
    else if (ns < 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fms", double(ns) / 1e6);
    else std::snprintf(buf, sizeof buf, "%.2fs", double(ns) / 1e9);
    return buf;
}

}  // namespace sluice
