// The decoder's hook: what a pipeline's event schema reads from a payload and which type names it knows.
#pragma once

#include <span>
#include <string_view>

#include "decode/decode_context.hpp"
#include "decode/event_slot.hpp"

namespace sluice {

// Design: the pipeline builds one schema at start and passes it to the
// pipeline; it is immutable, so the decoders of every thread share it.
// decode() runs on the decoding thread once per event (one indirect call;
// the field readers it calls are inline), allocates nothing and never
// throws.
class event_schema {
public:
    virtual ~event_schema() = default;

    // Type names interned at start, in this order: their ids are stable
    // across runs and routing, windows and sinks can name them before the
    // first event.
    virtual std::span<const std::string_view> known_types() const noexcept = 0;

    // Reads the payload's top-level object: the schema's own fields into
    // slot.fields<T>() (every one of them: the slot holds the previous
    // event's), slot.ev.correlation_id if the envelope carries one (the
    // decoder has cleared it), and type_name, the event's type as the
    // payload names it (never empty on success). Validates what the schema
    // requires. On a failure records why with c.fail() and returns false.
    virtual bool decode(od::object& top, decode_context& c, event_slot& slot, str_ref& type_name) const noexcept = 0;
};

}  // namespace sluice
