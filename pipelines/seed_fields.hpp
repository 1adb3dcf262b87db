// The decoded fields of a seed-system event (both envelope styles), as the sinks read them.
#pragma once

#include <cstdint>

#include "decode/event_slot.hpp"

namespace sluice {

enum class envelope : std::uint8_t {
    portfolio,  // {"event_id","event_type","timestamp","source","version","data":{...}}
    task,       // {"eventType","userId"|"taskId",...,"timestamp","payload":{...}}
};

// Ids are kept as their text (numbers are printed in decimal) so that numeric
// task-style ids and string portfolio ids join through one directory key.
// The type and correlation id are the engine's part (event_slot::ev).
struct seed_fields {
    std::int64_t timestamp_ns = 0;  // event time, from the envelope
    str_ref event_id;               // portfolio only; task style has none
    str_ref source;
    str_ref version;
    str_ref entity_id;  // article/project id, task id, page path: what the event is about
    str_ref user_id;    // the user the event is about or by (userId, data.user_id)
    str_ref author_id;  // article author
    str_ref team_id, actor_id, creator_id, assignee_id;
    str_ref email, username, title;
    str_ref recipient;  // email.send / notification.create addressee
    envelope style = envelope::portfolio;
    bool completed = false;
};

// A decoded seed event's fields (the decoder ran with seed_schema()).
inline seed_fields& seed_fields_of(event_slot& slot) noexcept { return slot.fields<seed_fields>(); }
inline const seed_fields& seed_fields_of(const event_slot& slot) noexcept { return slot.fields<seed_fields>(); }

}  // namespace sluice
