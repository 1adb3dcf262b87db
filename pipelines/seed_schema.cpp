// The seed systems' two envelopes, mapped into seed_fields, and what each event type requires.
#include "seed_schema.hpp"

#include <array>
#include <cstring>

#include "decode/event_schema.hpp"
#include "seed_fields.hpp"

namespace sluice {
namespace {

constexpr std::array<std::string_view, 19> seed_types = {
    "user.created",      "task.updated",      "task.completed",   "article.created",
    "article.updated",   "article.deleted",   "article.published", "article.unpublished",
    "project.created",   "project.updated",   "project.deleted",  "project.featured",
    "page.view",         "article.view",      "project.view",     "user.action",
    "email.send",        "notification.create", "unknown"};

// Bits for duplicate detection of the keys we read.
enum key_bit : std::uint32_t {
    k_event_id = 1u << 0, k_event_type = 1u << 1, k_timestamp = 1u << 2, k_source = 1u << 3,
    k_version = 1u << 4, k_data = 1u << 5, k_event_type_b = 1u << 6, k_user_id = 1u << 7,
    k_task_id = 1u << 8, k_team_id = 1u << 9, k_actor_id = 1u << 10, k_creator_id = 1u << 11,
    k_assignee_id = 1u << 12, k_payload = 1u << 13,
};

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

// One payload's decode: the readers, the slot, and what the top level found.
struct seed_decode {
    decode_context& c;
    event_slot& slot;
    seed_fields& ev;
    str_ref& type_name;
    bool have_ts = false;

    // data{} of the portfolio envelope: fields we understand, the rest skipped.
    bool portfolio_data(od::value& v) noexcept {
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
    bool task_payload(od::value& v) noexcept {
        return for_each_field(v, c, "payload", [&](std::string_view k, od::value& fv) {
            if (k == "email") return c.string_field(fv, "payload.email", ev.email);
            if (k == "username") return c.string_field(fv, "payload.username", ev.username);
            if (k == "title") return c.string_field(fv, "payload.title", ev.title);
            if (k == "completed") return c.bool_field(fv, "payload.completed", ev.completed);
            return check_nesting(fv, c, c.max_depth - 2);
        });
    }

    // Trace context, not part of the event's meaning: a string or number is
    // carried; anything else (or a second one) is ignored, never a reason to
    // reject the event.
    bool correlation_id(od::value& v) noexcept {
        od::json_type t;
        if (auto e = v.type().get(t)) return c.fail(decode_status::invalid_json, "", e);
        if (slot.ev.correlation_id.empty() && (t == od::json_type::string || t == od::json_type::number))
            return c.id_field(v, "correlation_id", slot.ev.correlation_id);
        return check_nesting(v, c, c.max_depth - 1);
    }

    bool event_type(od::value& v, std::uint32_t bit, const char* name, envelope style) noexcept {
        ev.style = style;
        return c.mark(bit, name) && c.string_field(v, name, type_name);
    }

    bool top_field(std::string_view k, od::value& v) noexcept {
        switch (classify(k)) {
            case top_key::event_id: return c.mark(k_event_id, "event_id") && c.id_field(v, "event_id", ev.event_id);
            case top_key::event_type: return event_type(v, k_event_type, "event_type", envelope::portfolio);
            case top_key::event_type_b: return event_type(v, k_event_type_b, "eventType", envelope::task);
            case top_key::timestamp:
                have_ts = c.mark(k_timestamp, "timestamp") && c.timestamp_field(v, "timestamp", ev.timestamp_ns);
                return have_ts;
            case top_key::source: return c.mark(k_source, "source") && c.string_field(v, "source", ev.source);
            case top_key::version: return c.mark(k_version, "version") && c.string_field(v, "version", ev.version);
            case top_key::data: return c.mark(k_data, "data") && portfolio_data(v);
            case top_key::payload: return c.mark(k_payload, "payload") && task_payload(v);
            case top_key::user_id: return c.mark(k_user_id, "userId") && c.id_field(v, "userId", ev.user_id);
            case top_key::task_id: return c.mark(k_task_id, "taskId") && c.id_field(v, "taskId", ev.entity_id);
            case top_key::team_id: return c.mark(k_team_id, "teamId") && c.id_field(v, "teamId", ev.team_id, true);
            case top_key::actor_id: return c.mark(k_actor_id, "actorId") && c.id_field(v, "actorId", ev.actor_id);
            case top_key::creator_id:
                return c.mark(k_creator_id, "creatorId") && c.id_field(v, "creatorId", ev.creator_id);
            case top_key::assignee_id:
                return c.mark(k_assignee_id, "assigneeId") && c.id_field(v, "assigneeId", ev.assignee_id, true);
            case top_key::correlation_id: return correlation_id(v);
            case top_key::other: return check_nesting(v, c, c.max_depth - 1);
        }
        return true;
    }

    // Exactly one envelope, with what every event of it carries.
    bool check_envelope() noexcept {
        const bool portfolio = c.seen & k_event_type;
        const bool task = c.seen & k_event_type_b;
        if (portfolio && task) return c.fail(decode_status::duplicate_key, "event_type/eventType");
        if (!portfolio && !task)
            return c.fail(decode_status::unknown_envelope, "neither event_type nor eventType present");
        if (type_name.empty()) return c.fail(decode_status::missing_field, portfolio ? "event_type" : "eventType");
        if (!have_ts) return c.fail(decode_status::missing_field, "timestamp");
        if (portfolio) {
            if (ev.event_id.empty()) return c.fail(decode_status::missing_field, "event_id");
            if (!(c.seen & k_data)) return c.fail(decode_status::missing_field, "data");
        }
        return true;
    }

    // Task-style events the sinks act on need their actors: a user.created
    // its user and email, a task.* event its task, creator and actor.
    bool check_task_type() noexcept {
        if (!(c.seen & k_event_type_b)) return true;
        const std::string_view name = slot.str(type_name);
        if (name == "user.created") {
            if (ev.user_id.empty()) return c.fail(decode_status::missing_field, "userId");
            if (ev.email.empty()) return c.fail(decode_status::missing_field, "payload.email");
        } else if (name.starts_with("task.")) {
            if (ev.entity_id.empty()) return c.fail(decode_status::missing_field, "taskId");
            if (ev.creator_id.empty()) return c.fail(decode_status::missing_field, "creatorId");
            if (ev.actor_id.empty()) return c.fail(decode_status::missing_field, "actorId");
        }
        return true;
    }
};

class seed_event_schema final : public event_schema {
public:
    std::span<const std::string_view> known_types() const noexcept override { return seed_types; }

    bool decode(od::object& top, decode_context& c, event_slot& slot, str_ref& type_name) const noexcept override {
        seed_fields& ev = seed_fields_of(slot);
        ev = seed_fields{};
        seed_decode d{c, slot, ev, type_name};
        return for_each_field(top, c, "", [&](std::string_view k, od::value& v) { return d.top_field(k, v); }) &&
               d.check_envelope() && d.check_task_type();
    }
};

}  // namespace

const event_schema& seed_schema() noexcept {
    static const seed_event_schema schema;
    return schema;
}

}  // namespace sluice
