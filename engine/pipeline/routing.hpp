// Routing table: event type -> bit mask of the sinks that receive it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "decode/event.hpp"
#include "decode/type_registry.hpp"

namespace sluice {

using sink_mask = std::uint8_t;
inline constexpr std::size_t max_sinks = 8;

// Design: built on the control thread before the source starts, then read
// only by the source thread. Types interned later (unknown to the config)
// take the default mask. A reload: the control thread propose()s new rules,
// the source thread apply_pending()s them between events (it interns their
// types, being the registry's only writer), so route() needs no atomics.
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

    // Control thread: checks the rules (throws std::invalid_argument as the
    // constructor does) and hands them to the source thread; a proposal not
    // yet applied is replaced.
    void propose(const std::map<std::string, std::vector<std::string>>& rules) const;
    // Source thread: applies the last proposal, if any (one load when none).
    void apply_pending() const noexcept;
    ~routing_table();
    routing_table(const routing_table&) = delete;
    routing_table& operator=(const routing_table&) = delete;

private:
    struct rule_masks {
        std::map<std::string, sink_mask> by_type;
        sink_mask default_mask = 0;
    };
    rule_masks masks_of(const std::map<std::string, std::vector<std::string>>& rules) const;
    void install(const rule_masks& r) const;  // source thread (or before it starts)

    std::vector<std::string> sink_names_;
    type_registry& types_;
    mutable std::array<sink_mask, type_registry::max_types> masks_{};
    mutable std::array<bool, type_registry::max_types> has_rule_{};
    mutable sink_mask default_mask_ = 0;
    mutable std::atomic<rule_masks*> pending_{nullptr};
};

}  // namespace sluice
