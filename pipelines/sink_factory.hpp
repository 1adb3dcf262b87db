// Builds the sinks of the seed systems by name, for the engine's pipeline.
#pragma once

#include "pipeline/pipeline.hpp"
#include "seed_config.hpp"
#include "seed_schema.hpp"

namespace sluice {

// One of seed_domain()'s sink names; throws std::invalid_argument otherwise.
std::unique_ptr<sink> make_seed_sink(const std::string& name, const settings& cfg, const std::string& bootstrap,
                                     flow& f, sink_context& ctx);

}  // namespace sluice
