// simdjson on-demand decoding of both envelope styles, with a reason for every rejection.
#include "decoder.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstring>

#include "timestamp.hpp"

namespace sluice {

namespace od = simdjson::ondemand;
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
        case decode_status::unknown_envelope:
            return "unknown envelope: neither event_type nor eventType present";
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
        case decode_status::too_many_types: return "too many distinct event types";
    }
    return "unknown decode failure";
}

struct decoder::impl {
    od::parser parser;
    std::size_t max_depth;
};

namespace {

// Bits for duplicate detection of the keys we read.
enum key_bit : std::uint32_t {
    k_event_id = 1u << 0, k_event_type = 1u << 1, k_timestamp = 1u << 2, k_source = 1u << 3,
    k_version = 1u << 4, k_data = 1u << 5, k_event_type_b = 1u << 6, k_user_id = 1u << 7,
    k_task_id = 1u << 8, k_team_id = 1u << 9, k_actor_id = 1u << 10, k_creator_id = 1u << 11,
    k_assignee_id = 1u << 12, k_payload = 1u << 13,
};

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
// simdjson's unescaped_key() copies every key through an indirect call and
// was a fifth of the decode. Keys with escapes are unescaped.
simdjson::error_code field_key(od::field& f, std::string_view& out) noexcept {
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
std::size_t token_length(std::string_view tok) noexcept {
    std::size_t n = tok.size();
    while (n > 1 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n' || tok[n - 1] == '\r')) --n;
    return n;
}

struct decode_ctx {
    arena_writer arena;
    decode_result result;
    std::size_t max_depth;
    std::uint32_t seen = 0;

    bool fail(decode_status s, const char* f, error_code e = simdjson::SUCCESS) noexcept {
        if (s == decode_status::too_deep) result.limit = max_depth;
        result.status = s;
        result.field = f;
        result.json_error = e;
        return false;
    }
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
    // Ids may be JSON numbers (task style) or strings (portfolio style).
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
    bool timestamp_field(od::value& v, const char* name, std::int64_t& out) noexcept {
        std::string_view s;
        if (!in_place_string(v, s))
            if (auto e = v.get_string().get(s)) return fail(decode_status::wrong_type, name, e);
        auto ns = parse_iso8601_ns(s);
        if (!ns) return fail(decode_status::bad_timestamp, name);
        out = *ns;
        return true;
    }
};

// Values we do not read would be skipped without a depth check; walk them
// with a bound instead so hostile nesting is rejected (and validated).
bool check_nesting(od::value& v, decode_ctx& c, std::size_t depth_left) noexcept {
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

// Calls on_field(key, value) for each field of the object v (named `what`
// in errors); stops at the first failure.
template <typename OnField>
bool for_each_field(od::value& v, decode_ctx& c, const char* what, OnField&& on_field) noexcept {
    od::object obj;
    if (auto e = v.get_object().get(obj)) return c.fail(decode_status::wrong_type, what, e);
    for (auto fr : obj) {
        if (auto e = fr.error()) return c.fail(decode_status::invalid_json, what, e);
        od::field& f = fr.value_unsafe();  // in place: see field_key()
        std::string_view k;
        if (auto e = field_key(f, k)) return c.fail(decode_status::invalid_json, what, e);
        if (!on_field(k, f.value())) return false;
    }
    return true;
}

// data{} of the portfolio envelope: fields we understand, the rest skipped.
bool decode_portfolio_data(od::value& v, decode_ctx& c, event& ev) noexcept {
    return for_each_field(v, c, "data", [&](std::string_view k, od::value& fv) {
        if (k == "article_id" || k == "project_id") return c.id_field(fv, "data.entity_id", ev.entity_id);
        if (k == "path" && ev.entity_id.empty()) return c.string_field(fv, "data.path", ev.entity_id);
        if (k == "author_id") return c.id_field(fv, "data.author_id", ev.author_id, true);
        if (k == "user_id") return c.id_field(fv, "data.user_id", ev.user_id, true);
        if (k == "title" || k == "name" || k == "subject") return c.string_field(fv, "data.title", ev.title);
        if (k == "to" || k == "recipient" || k == "recipient_id") return c.id_field(fv, "data.recipient", ev.recipient);
        if (k == "email") return c.string_field(fv, "data.email", ev.email);
        return check_nesting(fv, c, c.max_depth - 2);
    });
}

// payload{} of the task envelope.
bool decode_task_payload(od::value& v, decode_ctx& c, event& ev) noexcept {
    return for_each_field(v, c, "payload", [&](std::string_view k, od::value& fv) {
        if (k == "email") return c.string_field(fv, "payload.email", ev.email);
        if (k == "username") return c.string_field(fv, "payload.username", ev.username);
        if (k == "title") return c.string_field(fv, "payload.title", ev.title);
        if (k == "completed") {
            bool b;
            if (auto e = fv.get_bool().get(b)) return c.fail(decode_status::wrong_type, "payload.completed", e);
            ev.completed = b;
            return true;
        }
        return check_nesting(fv, c, c.max_depth - 2);
    });
}

// Top-level keys of both envelopes, classified by length and a byte or two
// before one memcmp (the keys arrive in any order, so a chain of compares
// would cost up to 14 per field).
enum class top_key {
    event_id, event_type, event_type_b, timestamp, source, version, data, payload,
    user_id, task_id, team_id, actor_id, creator_id, assignee_id, correlation_id, other
};

top_key classify(std::string_view k) noexcept {
    auto is = [&](const char* lit) { return std::memcmp(k.data(), lit, k.size()) == 0; };
    switch (k.size()) {
        case 4: return is("data") ? top_key::data : top_key::other;
        case 6:
            switch (k[0]) {
                case 's': return is("source") ? top_key::source : top_key::other;
                case 'u': return is("userId") ? top_key::user_id : top_key::other;
                case 't':
                    if (is("taskId")) return top_key::task_id;
                    return is("teamId") ? top_key::team_id : top_key::other;
                default: return top_key::other;
            }
        case 7:
            switch (k[0]) {
                case 'v': return is("version") ? top_key::version : top_key::other;
                case 'p': return is("payload") ? top_key::payload : top_key::other;
                case 'a': return is("actorId") ? top_key::actor_id : top_key::other;
                default: return top_key::other;
            }
        case 8: return is("event_id") ? top_key::event_id : top_key::other;
        case 9:
            switch (k[0]) {
                case 'e': return is("eventType") ? top_key::event_type_b : top_key::other;
                case 't': return is("timestamp") ? top_key::timestamp : top_key::other;
                case 'c': return is("creatorId") ? top_key::creator_id : top_key::other;
                default: return top_key::other;
            }
        case 10:
            if (k[0] == 'e') return is("event_type") ? top_key::event_type : top_key::other;
            return is("assigneeId") ? top_key::assignee_id : top_key::other;
        case 13: return is("correlationId") ? top_key::correlation_id : top_key::other;
        case 14: return is("correlation_id") ? top_key::correlation_id : top_key::other;
        default: return top_key::other;
    }
}

}  // namespace

decoder::decoder(type_registry& types, std::size_t max_payload, std::size_t max_depth)
    : impl_(new impl{od::parser(), max_depth}), types_(types), max_payload_(max_payload) {
    // Reserve once for the largest payload so decode() never allocates.
    if (impl_->parser.allocate(max_payload + 1, max_depth) != simdjson::SUCCESS)
        throw std::runtime_error("simdjson: cannot allocate parser for max payload " +
                                 std::to_string(max_payload));
}

decoder::~decoder() = default;

decode_result decoder::decode(event_slot& slot, bool tombstone) noexcept {
    decode_ctx c{arena_writer{slot.payload(), slot.arena_offset() + slot.arena_capacity(), slot.arena_offset()},
                 {}, impl_->max_depth, 0};
    event& ev = slot.ev;
    ev = event{};
    const std::size_t len = slot.payload_len();
    if (tombstone) return c.fail(decode_status::tombstone, ""), c.result;
    if (len == 0) return c.fail(decode_status::empty_payload, ""), c.result;
    if (len > max_payload_) {
        c.result.status = decode_status::oversize;
        c.result.size = len;
        c.result.limit = max_payload_;
        return c.result;
    }

    od::document doc;
    if (auto e = impl_->parser.iterate(slot.payload(), len, len + json_padding).get(doc))
        return c.fail(decode_status::invalid_json, "", e), c.result;
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
        if (e == simdjson::INCORRECT_TYPE) {
            // Say what it is instead, from its first byte (failure path only).
            std::size_t i = 0;
            const char* p = slot.payload();
            while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) ++i;
            const char first = i < len ? p[i] : '\0';
            // A leading t, f or n is a literal only if the whole payload is
            // that word ("not json" is not null).
            auto literal = [&](std::string_view word) {
                std::size_t j = i + word.size();
                if (j > len || std::string_view(p + i, word.size()) != word) return false;
                while (j < len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r')) ++j;
                return j == len;
            };
            const char* what = first == '[' ? "an array" : first == '"' ? "a string"
                             : (first == '-' || (first >= '0' && first <= '9')) ? "a number"
                             : literal("true") || literal("false") ? "a boolean" : literal("null") ? "null" : nullptr;
            if (!what) return c.fail(decode_status::not_json, ""), c.result;
            return c.fail(decode_status::not_an_object, what), c.result;
        }
        return c.fail(decode_status::invalid_json, "", e), c.result;
    }

    str_ref type_name;
    bool have_ts = false;
    for (auto fr : obj) {
        if (auto e = fr.error()) return c.fail(decode_status::invalid_json, "", e), c.result;
        od::field& f = fr.value_unsafe();
        std::string_view k;
        if (auto e = field_key(f, k)) return c.fail(decode_status::invalid_json, "", e), c.result;
        od::value& v = f.value();  // by reference throughout: see field_key()
        bool ok = true;
        switch (classify(k)) {
            case top_key::event_id: ok = c.mark(k_event_id, "event_id") && c.id_field(v, "event_id", ev.event_id); break;
            case top_key::event_type:
                ok = c.mark(k_event_type, "event_type") && c.string_field(v, "event_type", type_name);
                ev.style = envelope::portfolio;
                break;
            case top_key::event_type_b:
                ok = c.mark(k_event_type_b, "eventType") && c.string_field(v, "eventType", type_name);
                ev.style = envelope::task;
                break;
            case top_key::timestamp:
                ok = c.mark(k_timestamp, "timestamp") && c.timestamp_field(v, "timestamp", ev.timestamp_ns);
                have_ts = ok;
                break;
            case top_key::source: ok = c.mark(k_source, "source") && c.string_field(v, "source", ev.source); break;
            case top_key::version: ok = c.mark(k_version, "version") && c.string_field(v, "version", ev.version); break;
            case top_key::data: ok = c.mark(k_data, "data") && decode_portfolio_data(v, c, ev); break;
            case top_key::payload: ok = c.mark(k_payload, "payload") && decode_task_payload(v, c, ev); break;
            case top_key::user_id: ok = c.mark(k_user_id, "userId") && c.id_field(v, "userId", ev.user_id); break;
            case top_key::task_id: ok = c.mark(k_task_id, "taskId") && c.id_field(v, "taskId", ev.entity_id); break;
            case top_key::team_id: ok = c.mark(k_team_id, "teamId") && c.id_field(v, "teamId", ev.team_id, true); break;
            case top_key::actor_id: ok = c.mark(k_actor_id, "actorId") && c.id_field(v, "actorId", ev.actor_id); break;
            case top_key::creator_id:
                ok = c.mark(k_creator_id, "creatorId") && c.id_field(v, "creatorId", ev.creator_id);
                break;
            case top_key::assignee_id:
                ok = c.mark(k_assignee_id, "assigneeId") && c.id_field(v, "assigneeId", ev.assignee_id, true);
                break;
            case top_key::correlation_id: {
                // Trace context, not part of the event's meaning: a string or
                // number is carried; anything else (or a second one) is ignored.
                od::json_type t;
                if (auto e = v.type().get(t)) return c.fail(decode_status::invalid_json, "", e), c.result;
                if (ev.correlation_id.empty() && (t == od::json_type::string || t == od::json_type::number))
                    ok = c.id_field(v, "correlation_id", ev.correlation_id);
                else
                    ok = check_nesting(v, c, c.max_depth - 1);
                break;
            }
            case top_key::other: ok = check_nesting(v, c, c.max_depth - 1); break;
        }
        if (!ok) return c.result;
    }

    const bool portfolio = c.seen & k_event_type;
    const bool task = c.seen & k_event_type_b;
    if (portfolio == task) {
        if (portfolio) return c.fail(decode_status::duplicate_key, "event_type/eventType"), c.result;
        return c.fail(decode_status::unknown_envelope, ""), c.result;
    }
    if (type_name.empty()) return c.fail(decode_status::missing_field, portfolio ? "event_type" : "eventType"), c.result;
    if (!have_ts) return c.fail(decode_status::missing_field, "timestamp"), c.result;
    if (portfolio) {
        if (ev.event_id.empty()) return c.fail(decode_status::missing_field, "event_id"), c.result;
        if (!(c.seen & k_data)) return c.fail(decode_status::missing_field, "data"), c.result;
    }
    const std::string_view tname = slot.str(type_name);
    if (task) {
        if (tname == "user.created") {
            if (ev.user_id.empty()) return c.fail(decode_status::missing_field, "userId"), c.result;
            if (ev.email.empty()) return c.fail(decode_status::missing_field, "payload.email"), c.result;
        } else if (tname.starts_with("task.")) {
            if (ev.entity_id.empty()) return c.fail(decode_status::missing_field, "taskId"), c.result;
            if (ev.creator_id.empty()) return c.fail(decode_status::missing_field, "creatorId"), c.result;
            if (ev.actor_id.empty()) return c.fail(decode_status::missing_field, "actorId"), c.result;
        }
    }
    ev.type = types_.intern(tname);
    if (ev.type == type_registry::none) return c.fail(decode_status::too_many_types, ""), c.result;
    return c.result;
}

}  // namespace sluice
