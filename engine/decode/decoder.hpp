// Decodes one JSON payload into an event slot (simdjson on-demand); the pipeline's event_schema reads its fields.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "decode/event.hpp"
#include "decode/event_slot.hpp"
#include "decode/type_registry.hpp"

namespace sluice {

class event_schema;

enum class decode_status : std::uint8_t {
    ok,
    tombstone,
    empty_payload,
    oversize,
    invalid_json,
    not_an_object,
    not_json,
    unknown_envelope,
    missing_field,
    wrong_type,
    number_out_of_range,
    too_deep,
    bad_timestamp,
    duplicate_key,
    type_name_too_long,
    too_many_types,
};

struct decode_result {
    decode_status status = decode_status::ok;
    const char* field = "";   // static string naming the field (or, for unknown_envelope, what is missing)
    int json_error = 0;       // simdjson::error_code, for invalid_json / wrong_type
    std::size_t size = 0;     // payload size, for oversize; name size, for type_name_too_long
    std::size_t limit = 0;

    explicit operator bool() const noexcept { return status == decode_status::ok; }
    // The dead-letter failure_reason, e.g. "missing field: event_id". Off the hot path.
    std::string describe() const;
};

// Design: one decoder per decoding thread (it owns a reused simdjson parser);
// decode() is noexcept and allocates nothing once the parser has grown. The
// decoder checks what any payload must be (present, within max_payload, a
// JSON object); the schema reads the object's fields and validates them;
// the decoder then interns the type name the schema found.
class decoder {
public:
    // schema and types outlive the decoder; the schema's known types are
    // expected interned already (the pipeline does it at start).
    decoder(const event_schema& schema, type_registry& types, std::size_t max_payload, std::size_t max_depth = 64);
    ~decoder();
    decoder(const decoder&) = delete;
    decoder& operator=(const decoder&) = delete;

    // Decodes slot.payload() (padded by event_slot::assign) into slot.ev and
    // the schema's slot.fields<T>(): their strings refer to the payload in
    // place, or to the slot's arena when they needed unescaping. A null
    // payload is a tombstone. The fields are meaningful only when it returns ok.
    decode_result decode(event_slot& slot, bool tombstone = false) noexcept;

    std::size_t max_payload() const noexcept { return max_payload_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    const event_schema& schema_;
    type_registry& types_;
    std::size_t max_payload_;
};

}  // namespace sluice
