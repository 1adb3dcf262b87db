// Builds the routing masks from named rules.
#include "pipeline/routing.hpp"

#include <stdexcept>

#include "base/log.hpp"
#include "config/config_modules.hpp"

namespace sluice {

void register_routing_keys(config_registry& keys) {
    keys.add({"routing.",
              [](config_reader& r, settings& s) {
                  s.routing = {};
                  for (const auto& k : r.keys_under("routing.")) {
                      std::vector<std::string> v;
                      r.strings("routing." + k, v);
                      s.routing[k] = v;
                  }
              },
              {},
              // Reloadable: the source applies new rules between events.
              [](settings& to, const settings& from) { to.routing = from.routing; }});
}

routing_table::routing_table(const std::vector<std::string>& sink_names,
                             const std::map<std::string, std::vector<std::string>>& rules,
                             type_registry& types)
    : sink_names_(sink_names), types_(types) {
    if (sink_names.size() > max_sinks) throw std::invalid_argument("too many sinks");
    install(masks_of(rules));
}

routing_table::~routing_table() { delete pending_.load(std::memory_order_acquire); }

routing_table::rule_masks routing_table::masks_of(const std::map<std::string, std::vector<std::string>>& rules) const {
    rule_masks r;
    for (const auto& [type, sinks] : rules) {
        sink_mask mask = 0;
        for (const auto& s : sinks) {
            std::size_t i = 0;
            while (i < sink_names_.size() && sink_names_[i] != s) ++i;
            if (i == sink_names_.size()) {
                std::string names;
                for (const auto& n : sink_names_) names += (names.empty() ? "" : ", ") + n;
                throw std::invalid_argument("routing." + type + ": unknown sink '" + s + "' (sinks are " + names + ")");
            }
            mask = static_cast<sink_mask>(mask | (1u << i));
        }
        if (type == "default") r.default_mask = mask;
        else if (type.size() >= type_registry::max_name) throw std::invalid_argument("routing." + type + ": name too long");
        else r.by_type[type] = mask;
    }
    return r;
}

void routing_table::install(const rule_masks& r) const {
    has_rule_.fill(false);
    default_mask_ = r.default_mask;
    for (const auto& [type, mask] : r.by_type) {
        const type_id id = types_.intern(type);
        if (id == type_registry::none) throw std::invalid_argument("routing." + type + ": too many event types");
        masks_[id] = mask;
        has_rule_[id] = true;
    }
}

void routing_table::propose(const std::map<std::string, std::vector<std::string>>& rules) const {
    auto* next = new rule_masks(masks_of(rules));
    // release: the source thread sees the whole proposal it takes.
    delete pending_.exchange(next, std::memory_order_acq_rel);
}

void routing_table::apply_pending() const noexcept {
    if (!pending_.load(std::memory_order_relaxed)) return;
    rule_masks* next = pending_.exchange(nullptr, std::memory_order_acq_rel);
    if (!next) return;
    try {
        install(*next);
        log_write(log_level::info, "reload", "routing applied: the source routes the next event by it");
    } catch (const std::exception& e) {
        logf(log_level::error, "reload", "%s: the types that fit are routed, the rest take the default", e.what());
    }
    delete next;
}

}  // namespace sluice
