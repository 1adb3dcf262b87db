// libFuzzer target: any bytes through the decoder. It must return a status
// (never crash, never read past the event's buffer), and a decoded event's
// strings must lie inside that buffer (the payload or its arena).
#include <cstdint>
#include <cstdlib>

#include "decode/decoder.hpp"
#include "decode/event_schema.hpp"
#include "decode/event_slot.hpp"
#include "decode/type_registry.hpp"
#include "seed_fields.hpp"
#include "seed_schema.hpp"

namespace {

void check_ref(const sluice::in_flight_event& bytes, sluice::str_ref r) {
    if (r.len && static_cast<std::size_t>(r.off) + r.len > bytes.buffer_size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static sluice::type_registry types(sluice::seed_schema().known_types());
    static sluice::decoder dec(sluice::seed_schema(), types, 64 * 1024);
    static sluice::standalone_event event;
    event.assign(data, size);
    const sluice::event_slot& slot = event.slot;
    const sluice::decode_result r = dec.decode(event.slot);
    if (r) {
        const sluice::seed_fields& e = sluice::seed_fields_of(slot);
        for (sluice::str_ref ref : {slot.ev.correlation_id, e.event_id, e.source, e.version, e.entity_id, e.user_id, e.author_id, e.team_id,
                                    e.actor_id, e.creator_id, e.assignee_id, e.email, e.username, e.title, e.recipient})
            check_ref(event.bytes, ref);
        if (types.name(slot.ev.type).empty()) std::abort();
    } else if (r.describe().empty()) {
        std::abort();  // every rejection has a reason for the dead-letter header
    }
    return 0;
}
