// Name -> sink.
#include "sink_factory.hpp"

#include <stdexcept>

#include "analytics_sink.hpp"
#include "enrichment_sink.hpp"
#include "notification_sink.hpp"

namespace sluice {

std::unique_ptr<sink> make_seed_sink(const std::string& name, const settings& cfg, const std::string& bootstrap,
                                     flow& f, sink_context& ctx) {
    if (name == "enrichment") return std::make_unique<enrichment_sink>(cfg, bootstrap, f, ctx);
    if (name == "notification") return std::make_unique<notification_sink>(cfg, bootstrap, f, ctx);
    if (name == "analytics") return std::make_unique<analytics_sink>(cfg, bootstrap, f, ctx);
    throw std::invalid_argument("unknown sink '" + name + "'");
}

}  // namespace sluice
