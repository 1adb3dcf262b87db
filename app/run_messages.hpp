// What `sluice run` tells the operator when it starts and when it has stopped.
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "pipeline/pipeline.hpp"

namespace sluice {

// Both go to stdout, or become log lines when logs are JSON (json_logs).

// What is read, from where, and where the stats are served.
void say_start(bool json_logs, const settings& cfg, const pipeline& p);

// How the run ended.
struct run_end {
    bool until_caught_up = false;  // the run was to end once caught up (--until-caught-up, a replay)
    bool reached_end = false;      // and it did
    std::int64_t caught_up_ns = 0; // mono_ns when the control loop ended, before the drain
};

// After p.stop(): the counts, every partition whose final commit was not
// confirmed, how far a replay got, and whether the run caught up (how fast).
void say_stopped(bool json_logs, const settings& cfg, pipeline& p, const run_end& end);

}  // namespace sluice
