// Resolving pipeline.sinks = "auto": the CPUs this process may use against its roles.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sluice {

// The whole CPUs a cgroup v2 cpu.max line ("QUOTA PERIOD" or "max PERIOD")
// allows, at least 1; nullopt for "max" (no quota) or text it cannot read.
std::optional<std::size_t> cpu_max_cpus(std::string_view cpu_max);

// The CPUs this process may use: its affinity mask, within the CPU quota of
// its cgroup and every ancestor's (cgroup v2 only: a cgroup v1 quota is not
// read). At least 1.
std::size_t usable_cpus();

// What "auto" and the others come to: inline when cpus < roles (every
// sink, the source and the commit thread each want a core), else threads.
// Never returns automatic.
sink_placement resolve_sink_placement(sink_placement p, std::size_t cpus, std::size_t roles) noexcept;

// The event-handling roles of a pipeline with nsinks sinks: the source,
// the commit thread and one per sink (the stats thread mostly sleeps).
constexpr std::size_t event_roles(std::size_t nsinks) noexcept { return nsinks + 2; }

}  // namespace sluice
