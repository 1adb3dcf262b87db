// Enrichment rules: join user ids against the user directory.
#include "enrichment_sink.hpp"

#include "base/timestamp.hpp"
#include "event_key.hpp"
#include "seed_fields.hpp"

namespace sluice {

enrichment_sink::enrichment_sink(const settings& cfg, const std::string& bootstrap, flow& f,
                                 sink_context& ctx)
    : ctx_(ctx),
      follower_(directory_follower::of(cfg, bootstrap, directory_)),
      tracker_(f, ctx, cfg.outputs.at("enrichment"), bootstrap, cfg.producer_properties, "enrichment") {
    record_.reserve(1024);
    users_.store(directory_.size(), std::memory_order_relaxed);
}

void enrichment_sink::person(json_writer* w, std::string_view role, std::string_view id, bool& partial) {
    if (id.empty()) return;
    const user_record* u = directory_.find(id);
    if (!u) {
        partial = true;
        unknown_ids_.add();
    }
    if (!w) return;
    w->key(role).begin_object().field("id", id);
    if (u) w->field("email", std::string_view(u->email)).field("username", std::string_view(u->username));
    else w->key("email").null().key("username").null();
    w->end_object();
}

void enrichment_sink::count_partial() {
    ctx_.metrics.partial.add();
}

void enrichment_sink::join_only(const event_slot& slot) {
    const seed_fields& e = seed_fields_of(slot);
    bool partial = false;
    person(nullptr, "creator", slot.str(e.creator_id), partial);
    person(nullptr, "assignee", slot.str(e.assignee_id), partial);
    person(nullptr, "actor", slot.str(e.actor_id), partial);
    person(nullptr, "author", slot.str(e.author_id), partial);
    if (e.style == envelope::portfolio) person(nullptr, "user", slot.str(e.user_id), partial);
    if (partial) count_partial();
}

void enrichment_sink::render(const event_slot& slot, std::string& out) {
    const seed_fields& e = seed_fields_of(slot);
    out.clear();
    json_writer w(out);
    char ts[40];
    const std::size_t ts_len = format_iso8601_ms(e.timestamp_ns, ts);
    w.begin_object()
        .field("event_id", event_key(slot, ctx_.types, key_buf_))
        .field("event_type", ctx_.types.name(slot.ev.type))
        .field("timestamp", std::string_view(ts, ts_len));
    if (!e.entity_id.empty()) w.field("entity_id", slot.str(e.entity_id));
    if (!e.title.empty()) w.field("title", slot.str(e.title));
    bool partial = false;
    person(&w, "creator", slot.str(e.creator_id), partial);
    person(&w, "assignee", slot.str(e.assignee_id), partial);
    person(&w, "actor", slot.str(e.actor_id), partial);
    person(&w, "author", slot.str(e.author_id), partial);
    if (e.style == envelope::portfolio) person(&w, "user", slot.str(e.user_id), partial);
    w.field("partial", partial);
    const partition_view& p = ctx_.partitions[slot.partition];
    w.key("source").begin_object()
        .field("topic", p.topic())
        .field("partition", p.partition())
        .field("offset", slot.offset)
        .end_object();
    w.end_object();
    if (partial) count_partial();
}

void enrichment_sink::prefetch(const event_slot& slot) {
    const seed_fields& e = seed_fields_of(slot);
    for (const str_ref id : {e.creator_id, e.assignee_id, e.actor_id, e.author_id}) directory_.prefetch(slot.str(id));
    if (e.style == envelope::portfolio) directory_.prefetch(slot.str(e.user_id));
}

void enrichment_sink::prefetch_found(const event_slot& slot) {
    const seed_fields& e = seed_fields_of(slot);
    for (const str_ref id : {e.creator_id, e.assignee_id, e.actor_id, e.author_id}) directory_.prefetch_record(slot.str(id));
    if (e.style == envelope::portfolio) directory_.prefetch_record(slot.str(e.user_id));
}

void enrichment_sink::process(event_slot& slot, std::uint32_t slot_index) {
    if (tracker_.discards()) {
        join_only(slot);
        ctx_.done(slot);
        return;
    }
    tracker_.begin(slot);
    render(slot, record_);
    tracker_.emit(slot.str(seed_fields_of(slot).entity_id), record_);
    tracker_.end(slot);
}

bool enrichment_sink::poll(std::int64_t now_ns) {
    const std::size_t applied = follower_->poll();
    if (applied) users_.store(directory_.size(), std::memory_order_relaxed);
    return tracker_.poll(now_ns) || applied > 0;
}

std::string enrichment_sink::live_json() const {
    std::string out;
    json_writer w(out);
    w.begin_object()
        .field("directory_users", users_.load(std::memory_order_relaxed))
        .field("unknown_user_ids", unknown_ids_.get())
        .field("partial_events", ctx_.metrics.partial.get())
        .end_object();
    return out;
}

}  // namespace sluice
