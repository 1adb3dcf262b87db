// The compact decoded form of one business event, as sinks see it.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

// A slice of the owning slot's string arena (unescaped text).
struct str_ref {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
    bool empty() const noexcept { return len == 0; }
};

enum class envelope : std::uint8_t {
    portfolio,  // {"event_id","event_type","timestamp","source","version","data":{...}}
    task,       // {"eventType","userId"|"taskId",...,"timestamp","payload":{...}}
};

using type_id = std::uint16_t;

// Ids are kept as their text (numbers are printed in decimal) so that numeric
// task-style ids and string portfolio ids join through one directory key.
struct event {
    envelope style = envelope::portfolio;
    type_id type = 0;
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
    str_ref correlation_id;  // envelope correlation_id / correlationId (trace context)
    bool completed = false;
};

}  // namespace sluice
