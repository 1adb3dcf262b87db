// Routing table: event type -> bit mask of the sinks that receive it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "event.hpp"
#include "type_registry.hpp"

namespace sluice {

using sink_mask = std::uint8_t;
inline constexpr std::size_t max_sinks = 8;

// Design: built on the control thread before the source starts, then read
// only by the source thread. Types interned later (unknown to the config)
// take the default mask.
class routing_table {
public:
    // sink_names: index = sink bit. rules: event type -> sink names; "default"
    // applies to every type without a rule. Throws std::invalid_argument naming
    // the type and the unknown sink.
    routing_table(const std::vector<std::string>& sink_names,
                  const std::map<std::string, std::vector<std::string>>& rules,
                  type_registry& types);

    sink_mask route(type_id type) const noexcept {
        return type < masks_.size() && has_rule_[type] ? masks_[type] : default_mask_;
    }
    sink_mask default_mask() const noexcept { return default_mask_; }

    // The rules of the seed systems (DESIGN.md, "The sinks").
    static std::map<std::string, std::vector<std::string>> default_rules();

private:
    std::array<sink_mask, type_registry::max_types> masks_{};
    std::array<bool, type_registry::max_types> has_rule_{};
    sink_mask default_mask_ = 0;
};

}  // namespace sluice
