// The field readers an event schema decodes with: in-place strings and ids, timestamps, nesting bound, duplicate keys.
#pragma once

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/timestamp.hpp"
#include "decode/decoder.hpp"
#include "decode/event.hpp"

namespace sluice {

namespace od = simdjson::ondemand;

// Appends to the slot's arena; offsets are from the start of the slot's
// buffer (see event_slot::str()).
struct arena_writer {
    char* base;
    std::size_t cap;   // end of the arena, from base
    std::size_t used;  // next free byte, from base

    bool put(std::string_view s, str_ref& out) noexcept {
        if (used + s.size() > cap) return false;
        std::memcpy(base + used, s.data(), s.size());
        out = {static_cast<std::uint32_t>(used), static_cast<std::uint32_t>(s.size())};
        used += s.size();
        return true;
    }
    bool put_int(std::int64_t v, str_ref& out) noexcept {
        if (used + 20 > cap) return false;  // "-9223372036854775808"
        char* end = std::to_chars(base + used, base + cap, v).ptr;
        out = {static_cast<std::uint32_t>(used), static_cast<std::uint32_t>(end - (base + used))};
        used = static_cast<std::size_t>(end - base);
        return true;
    }
};

// A field's key. Keys without a backslash (all real ones) are read in place,
// up to their closing quote (stage 1 checked that strings are closed);
// simdjson's unescaped_key() copies every key through an indirect call,
// which costs a large share of a decode (perf/README.md). Keys with escapes
// are unescaped.
inline simdjson::error_code field_key(od::field& f, std::string_view& out) noexcept {
    const char* start = reinterpret_cast<const char*>(f.key().raw());
    for (const char* p = start;; ++p) {
        if (*p == '"') {
            out = {start, static_cast<std::size_t>(p - start)};
            return simdjson::SUCCESS;
        }
        if (*p == '\\') return f.unescaped_key().get(out);
    }
}

// The length of a raw_json_token() without the spaces simdjson includes
// after a scalar.
inline std::size_t token_length(std::string_view tok) noexcept {
    std::size_t n = tok.size();
    while (n > 1 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n' || tok[n - 1] == '\r')) --n;
    return n;
}

// Design: one per decode() call, on the decoding thread. Every reader
// returns false after recording why in result (fail()), so a schema chains
// them with && and returns at the first failure; field names are static
// strings that become the dead-letter failure_reason.
struct decode_context {
    arena_writer arena;
    decode_result result;
    std::size_t max_depth;
    std::uint32_t seen = 0;  // the schema's key bits, for mark()

    bool fail(decode_status s, const char* f, simdjson::error_code e = simdjson::SUCCESS) noexcept {
        if (s == decode_status::too_deep) result.limit = max_depth;
        result.status = s;
        result.field = f;
        result.json_error = e;
        return false;
    }
    // The same, as the decode's result.
    decode_result reject(decode_status s, const char* f = "", simdjson::error_code e = simdjson::SUCCESS) noexcept {
        fail(s, f, e);
        return result;
    }
    // A key the schema reads must appear once: bit is the schema's own.
    bool mark(std::uint32_t bit, const char* name) noexcept {
        if (seen & bit) return fail(decode_status::duplicate_key, name);
        seen |= bit;
        return true;
    }
    // A JSON string without a backslash is the text between its quotes
    // (stage 1 validated its UTF-8 and control characters): read it in the
    // payload instead of having simdjson unescape and copy it.
    static bool in_place_string(od::value& v, std::string_view& out) noexcept {
        const std::string_view tok = v.raw_json_token();
        if (tok.empty() || tok[0] != '"') return false;
        const std::size_t n = token_length(tok);
        if (n < 2 || tok[n - 1] != '"' || std::memchr(tok.data() + 1, '\\', n - 2)) return false;
        out = tok.substr(1, n - 2);
        return true;
    }
    bool string_field(od::value& v, const char* name, str_ref& out) noexcept {
        std::string_view s;
        if (in_place_string(v, s)) {
            out = {static_cast<std::uint32_t>(s.data() - arena.base), static_cast<std::uint32_t>(s.size())};
            return true;
        }
        if (auto e = v.get_string().get(s)) return fail(decode_status::wrong_type, name, e);
        if (!arena.put(s, out)) return fail(decode_status::oversize, name);
        return true;
    }
    // Ids may be JSON numbers or strings; either becomes its text (numbers
    // in decimal), so the same id joins whichever way it was written.
    bool id_field(od::value& v, const char* name, str_ref& out, bool allow_null = false) noexcept {
        // An integer already in its canonical decimal form (no leading zero,
        // not -0, at most 18 digits: within int64) is its own text: refer to
        // it in the payload. Anything else is parsed and printed below.
        const std::string_view tok = v.raw_json_token();
        if (!tok.empty() && (tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9'))) {
            const std::size_t n = token_length(tok);
            const std::size_t first = tok[0] == '-' ? 1 : 0;
            const std::size_t digits = n - first;
            bool canonical = digits >= 1 && digits <= 18 && (tok[first] != '0' || (digits == 1 && first == 0));
            for (std::size_t i = first; canonical && i < n; ++i) canonical = tok[i] >= '0' && tok[i] <= '9';
            if (canonical) {
                out = {static_cast<std::uint32_t>(tok.data() - arena.base), static_cast<std::uint32_t>(n)};
                return true;
            }
        }
        od::json_type t;
        if (auto e = v.type().get(t)) return fail(decode_status::invalid_json, name, e);
        if (t == od::json_type::null) {
            if (allow_null) {
                out = {};
                return true;
            }
            return fail(decode_status::wrong_type, name, simdjson::INCORRECT_TYPE);
        }
        if (t == od::json_type::string) return string_field(v, name, out);
        std::int64_t n;
        if (auto e = v.get_int64().get(n)) {
            if (t == od::json_type::number) return fail(decode_status::number_out_of_range, name, e);
            return fail(decode_status::wrong_type, name, e);
        }
        return arena.put_int(n, out) || fail(decode_status::oversize, name);
    }
    // ISO 8601 text, to nanoseconds since the epoch.
    bool timestamp_field(od::value& v, const char* name, std::int64_t& out) noexcept {
        std::string_view s;
        if (!in_place_string(v, s))
            if (auto e = v.get_string().get(s)) return fail(decode_status::wrong_type, name, e);
        auto ns = parse_iso8601_ns(s);
        if (!ns) return fail(decode_status::bad_timestamp, name);
        out = *ns;
        return true;
    }
    bool bool_field(od::value& v, const char* name, bool& out) noexcept {
        if (auto e = v.get_bool().get(out)) return fail(decode_status::wrong_type, name, e);
        return true;
    }
};

// Values a schema does not read would be skipped without a depth check:
// walk them with a bound instead (depth_left levels), so hostile nesting is
// rejected (and validated).
bool check_nesting(od::value& v, decode_context& c, std::size_t depth_left) noexcept;

// Calls on_field(key, value) for each field of obj (named `what` in
// errors); stops at the first failure.
template <typename OnField>
bool for_each_field(od::object& obj, decode_context& c, const char* what, OnField&& on_field) noexcept {
    for (auto fr : obj) {
        if (auto e = fr.error()) return c.fail(decode_status::invalid_json, what, e);
        od::field& f = fr.value_unsafe();  // in place: see field_key()
        std::string_view k;
        if (auto e = field_key(f, k)) return c.fail(decode_status::invalid_json, what, e);
        if (!on_field(k, f.value())) return false;  // the value by reference: see field_key()
    }
    return true;
}

// The same for a value that must be an object.
template <typename OnField>
bool for_each_field(od::value& v, decode_context& c, const char* what, OnField&& on_field) noexcept {
    od::object obj;
    if (auto e = v.get_object().get(obj)) return c.fail(decode_status::wrong_type, what, e);
    return for_each_field(obj, c, what, on_field);
}

}  // namespace sluice
