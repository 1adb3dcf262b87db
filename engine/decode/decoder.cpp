// simdjson on-demand decoding up to the top-level object, the schema hook, and a reason for every rejection.
#include "decode/decoder.hpp"

#include <simdjson.h>

#include <stdexcept>
#include <string>

#include "decode/decode_context.hpp"
#include "decode/event_schema.hpp"

namespace sluice {

using simdjson::error_code;

static_assert(json_padding == simdjson::SIMDJSON_PADDING, "event_slot padding must match simdjson");

std::string decode_result::describe() const {
    const std::string f = field ? field : "";
    switch (status) {
        case decode_status::ok: return "ok";
        case decode_status::tombstone: return "tombstone: null message value";
        case decode_status::empty_payload: return "empty payload";
        case decode_status::oversize:
            return "payload too large: " + std::to_string(size) + " bytes (max " +
                   std::to_string(limit) + ")";
        case decode_status::invalid_json:
            return std::string("invalid JSON: ") +
                   simdjson::error_message(static_cast<error_code>(json_error));
        case decode_status::not_an_object: return std::string("not a JSON object: the payload is ") + f;
        case decode_status::not_json: return "invalid JSON: the payload does not start with a JSON value";
        case decode_status::unknown_envelope: return "unknown envelope: " + f;
        case decode_status::missing_field: return "missing field: " + f;
        case decode_status::wrong_type:
            return "wrong type: " + f + " (" +
                   simdjson::error_message(static_cast<error_code>(json_error)) + ")";
        case decode_status::number_out_of_range:
            return "number out of range: " + f + " must be a 64-bit integer";
        case decode_status::too_deep:
            return "nesting too deep: more than " + std::to_string(limit) + " levels";
        case decode_status::bad_timestamp: return "bad timestamp: " + f + " is not ISO 8601";
        case decode_status::duplicate_key: return "duplicate key: " + f;
        case decode_status::type_name_too_long:
            return "event type name too long: " + std::to_string(size) + " bytes (max " + std::to_string(limit) + ")";
        case decode_status::too_many_types: return "too many distinct event types";
    }
    return "unknown decode failure";
}

struct decoder::impl {
    od::parser parser;
    std::size_t max_depth;
};

bool check_nesting(od::value& v, decode_context& c, std::size_t depth_left) noexcept {
    od::json_type t;
    if (auto e = v.type().get(t)) return c.fail(decode_status::invalid_json, "", e);
    if (t != od::json_type::object && t != od::json_type::array) return true;
    if (depth_left == 0) return c.fail(decode_status::too_deep, "");
    if (t == od::json_type::object) {
        od::object obj;
        if (auto e = v.get_object().get(obj)) return c.fail(decode_status::invalid_json, "", e);
        for (auto fr : obj) {
            if (auto e = fr.error()) return c.fail(decode_status::invalid_json, "", e);
            od::field& f = fr.value_unsafe();
            if (!check_nesting(f.value(), c, depth_left - 1)) return false;
        }
    } else {
        od::array arr;
        if (auto e = v.get_array().get(arr)) return c.fail(decode_status::invalid_json, "", e);
        for (auto er : arr) {
            if (auto e = er.error()) return c.fail(decode_status::invalid_json, "", e);
            if (!check_nesting(er.value_unsafe(), c, depth_left - 1)) return false;
        }
    }
    return true;
}

namespace {

bool json_space(char ch) noexcept { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

// What a payload that is valid JSON but no object is, from its first byte
// (failure path only); nullptr when it does not start with a JSON value.
const char* non_object_kind(const char* p, std::size_t len) noexcept {
    std::size_t i = 0;
    while (i < len && json_space(p[i])) ++i;
    const char first = i < len ? p[i] : '\0';
    // A leading t, f or n is a literal only if the whole payload is that
    // word ("not json" is not null).
    auto literal = [&](std::string_view word) {
        std::size_t j = i + word.size();
        if (j > len || std::string_view(p + i, word.size()) != word) return false;
        while (j < len && json_space(p[j])) ++j;
        return j == len;
    };
    if (first == '[') return "an array";
    if (first == '"') return "a string";
    if (first == '-' || (first >= '0' && first <= '9')) return "a number";
    if (literal("true") || literal("false")) return "a boolean";
    if (literal("null")) return "null";
    return nullptr;
}

// Starts the on-demand walk of the slot's payload at its top-level object.
bool open_object(od::parser& parser, event_slot& slot, decode_context& c, od::document& doc,
                 od::object& obj) noexcept {
    const std::size_t len = slot.payload_len();
    if (auto e = parser.iterate(slot.payload(), len, len + json_padding).get(doc))
        return c.fail(decode_status::invalid_json, "", e);
    const error_code e = doc.get_object().get(obj);
    if (!e) return true;
    if (e != simdjson::INCORRECT_TYPE) return c.fail(decode_status::invalid_json, "", e);
    const char* what = non_object_kind(slot.payload(), len);
    return what ? c.fail(decode_status::not_an_object, what) : c.fail(decode_status::not_json, "");
}

}  // namespace

decoder::decoder(const event_schema& schema, type_registry& types, std::size_t max_payload, std::size_t max_depth)
    : impl_(new impl{od::parser(), max_depth}), schema_(schema), types_(types), max_payload_(max_payload) {
    // Reserve once for the largest payload so decode() never allocates.
    if (impl_->parser.allocate(max_payload + 1, max_depth) != simdjson::SUCCESS)
        throw std::runtime_error("simdjson: cannot allocate parser for max payload " +
                                 std::to_string(max_payload));
}

decoder::~decoder() = default;

decode_result decoder::decode(event_slot& slot, bool tombstone) noexcept {
    decode_context c{arena_writer{slot.payload(), slot.arena_offset() + slot.arena_capacity(), slot.arena_offset()},
                     {}, impl_->max_depth, 0};
    slot.ev = event{};
    const std::size_t len = slot.payload_len();
    od::document doc;
    od::object top;
    if (tombstone) c.reject(decode_status::tombstone);
    else if (len == 0) c.reject(decode_status::empty_payload);
    else if (len > max_payload_) {
        c.result.status = decode_status::oversize;
        c.result.size = len;
        c.result.limit = max_payload_;
    } else
        open_object(impl_->parser, slot, c, doc, top);
    if (!c.result) {
        // The schema never ran: no fields of the slot's previous event remain.
        slot.clear_fields();
        return c.result;
    }
    str_ref type_name;
    if (!schema_.decode(top, c, slot, type_name)) return c.result;
    const std::string_view name = slot.str(type_name);
    if (name.size() >= type_registry::max_name) {  // the registry keeps a terminating NUL
        c.result.size = name.size();
        c.result.limit = type_registry::max_name - 1;
        return c.reject(decode_status::type_name_too_long);
    }
    slot.ev.type = types_.intern(name);
    if (slot.ev.type == type_registry::none) return c.reject(decode_status::too_many_types);
    return c.result;
}

}  // namespace sluice
