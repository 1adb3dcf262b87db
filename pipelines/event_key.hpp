// A stable identity for an event: its event_id, or one derived from its fields.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/event_slot.hpp"
#include "decode/type_registry.hpp"
#include "seed_fields.hpp"

namespace sluice {

// Task-style events carry no event_id; the same event replayed must map to
// the same key, so derive it from type, entity, actor and timestamp.
inline std::string_view event_key(const event_slot& slot, const type_registry& types, std::string& buf) {
    const seed_fields& e = seed_fields_of(slot);
    if (!e.event_id.empty()) return slot.str(e.event_id);
    buf.clear();
    buf.append(types.name(slot.ev.type));
    buf.push_back(':');
    buf.append(slot.str(e.entity_id.empty() ? e.user_id : e.entity_id));
    buf.push_back(':');
    buf.append(slot.str(e.actor_id));
    buf.push_back(':');
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, e.timestamp_ns);
    buf.append(num, static_cast<std::size_t>(end - num));
    return buf;
}

}  // namespace sluice
