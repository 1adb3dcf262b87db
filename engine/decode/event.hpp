// The part of a decoded event the engine itself reads; a schema's own fields live beside it in the slot.
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

using type_id = std::uint16_t;

// The decoder fills it for every event; the pipeline's schema fills its
// own fields (event_slot::fields<T>()), which the engine never reads.
struct event {
    type_id type = 0;        // the interned type name: routing
    str_ref correlation_id;  // the envelope's correlation id, if any: the trace
};

}  // namespace sluice
