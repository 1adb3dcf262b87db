// Notification recipients and records.
#include "notification_sink.hpp"

#include "base/key_hash.hpp"
#include "base/timestamp.hpp"
#include "config/config_registry.hpp"
#include "event_key.hpp"
#include "seed_config.hpp"

namespace sluice {

void register_notification_keys(config_registry& keys) {
    keys.integer("sinks.notification.dedup.capacity", &seed_sink_settings::dedup_capacity, 1, 1 << 26);
}

notification_sink::notification_sink(const settings& cfg, const std::string& bootstrap, flow& f,
                                     sink_context& ctx)
    : ctx_(ctx),
      rules_(ctx.types, &rule_of),
      follower_(directory_follower::of(cfg, bootstrap, directory_)),
      dedup_(seed_sink_settings_of(cfg).dedup_capacity),
      tracker_(f, ctx, cfg.outputs.at("notification"), bootstrap, cfg.producer_properties, "notification") {
    record_.reserve(1024);
    prefetch_key_buf_.reserve(256);
}

notification_sink::rule notification_sink::rule_of(std::string_view type) noexcept {
    if (type.starts_with("task.")) return rule::task;
    if (type == "user.created") return rule::welcome;
    if (type == "email.send" || type == "notification.create") return rule::pass_through;
    return rule::none;
}

void notification_sink::prefetch(const event_slot& slot) {
    dedup_.prefetch(key_hash(event_key(slot, ctx_.types, prefetch_key_buf_)));
    // The ids process() may look up; an unused one costs one line.
    const seed_fields& e = seed_fields_of(slot);
    directory_.prefetch(slot.str(e.creator_id));
    directory_.prefetch(slot.str(e.assignee_id));
    directory_.prefetch(slot.str(e.recipient));
}

void notification_sink::prefetch_found(const event_slot& slot) {
    const seed_fields& e = seed_fields_of(slot);
    directory_.prefetch_record(slot.str(e.creator_id));
    directory_.prefetch_record(slot.str(e.assignee_id));
    directory_.prefetch_record(slot.str(e.recipient));
}

void notification_sink::notify(const event_slot& slot, std::string_view kind, std::string_view recipient_id,
                               std::string_view email, std::string_view username, std::string_view key) {
    sent_.add();
    if (tracker_.discards()) {
        ctx_.metrics.outputs.add();
        return;  // output `none`: the decision is made, the record would be thrown away
    }
    const seed_fields& e = seed_fields_of(slot);
    id_buf_.assign(key).append(":").append(recipient_id);
    record_.clear();
    json_writer w(record_);
    char ts[40];
    const std::size_t ts_len = format_iso8601_ms(e.timestamp_ns, ts);
    w.begin_object()
        .field("notification_id", std::string_view(id_buf_))
        .field("kind", kind)
        .field("event_type", ctx_.types.name(slot.ev.type))
        .field("event_id", key)
        .field("recipient_id", recipient_id);
    if (email.empty()) w.key("email").null();
    else w.field("email", email);
    if (username.empty()) w.key("username").null();
    else w.field("username", username);
    if (!e.entity_id.empty()) w.field("entity_id", slot.str(e.entity_id));
    if (!e.title.empty()) w.field("title", slot.str(e.title));
    w.field("timestamp", std::string_view(ts, ts_len)).end_object();
    tracker_.emit(recipient_id, record_);
}

void notification_sink::process(event_slot& slot, std::uint32_t slot_index) {
    const seed_fields& e = seed_fields_of(slot);
    tracker_.begin(slot);
    const std::string_view key = event_key(slot, ctx_.types, key_buf_);
    if (dedup_.seen_or_insert(key_hash(key))) {
        ctx_.metrics.deduplicated.add();
        tracker_.end(slot);  // nothing emitted: done
        return;
    }
    const rule r = rules_(slot.ev.type);
    const std::string_view type = ctx_.types.name(slot.ev.type);
    auto known = [&](std::string_view id, std::string_view kind) {
        const user_record* u = directory_.find(id);
        if (!u) ctx_.metrics.partial.add();
        notify(slot, kind, id, u ? std::string_view(u->email) : std::string_view(),
               u ? std::string_view(u->username) : std::string_view(), key);
    };
    if (r == rule::task) {
        const std::string_view creator = slot.str(e.creator_id);
        const std::string_view assignee = slot.str(e.assignee_id);
        const std::string_view actor = slot.str(e.actor_id);
        if (!creator.empty() && creator != actor) known(creator, type);
        if (!assignee.empty() && assignee != creator && assignee != actor) known(assignee, type);
    } else if (r == rule::welcome) {
        notify(slot, "welcome", slot.str(e.user_id), slot.str(e.email), slot.str(e.username), key);
    } else if (r == rule::pass_through) {
        std::string_view to = slot.str(e.recipient);
        if (to.empty()) to = slot.str(e.user_id);
        if (to.empty()) to = slot.str(e.email);
        if (to.empty()) {
            no_recipient_.add();
        } else {
            const user_record* u = directory_.find(to);
            std::string_view email = slot.str(e.email);
            if (email.empty() && u) email = u->email;
            if (email.empty() && to.find('@') != std::string_view::npos) email = to;
            notify(slot, type, to, email, u ? std::string_view(u->username) : std::string_view(), key);
        }
    }
    tracker_.end(slot);
}

bool notification_sink::poll(std::int64_t now_ns) {
    const std::size_t applied = follower_->poll();
    return tracker_.poll(now_ns) || applied > 0;
}

std::string notification_sink::live_json() const {
    std::string out;
    json_writer w(out);
    w.begin_object()
        .field("notifications", sent_.get())
        .field("duplicates_dropped", ctx_.metrics.deduplicated.get())
        .field("without_recipient", no_recipient_.get())
        .end_object();
    return out;
}

}  // namespace sluice
