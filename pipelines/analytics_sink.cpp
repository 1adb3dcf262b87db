// Tumbling-window analytics and rollup emission.
#include "analytics_sink.hpp"

#include <charconv>

#include "base/clock.hpp"
#include "base/json_writer.hpp"
#include "base/key_hash.hpp"
#include "config/config_registry.hpp"
#include "seed_config.hpp"

namespace sluice {

void register_analytics_keys(config_registry& keys) {
    // Reloadable: analytics_sink::reload() takes it for its next window.
    keys.integer("sinks.analytics.window.ms", &seed_sink_settings::window_ms, 1, 86400000, true);
    keys.integer("sinks.analytics.top.k", &seed_sink_settings::top_k, 1, 1000);
}

analytics_sink::analytics_sink(const settings& cfg, const std::string& bootstrap, flow& f, sink_context& ctx)
    : ctx_(ctx),
      window_ms_(seed_sink_settings_of(cfg).window_ms),
      views_(ctx.types, &viewed_of),
      tracker_(f, ctx, cfg.outputs.at("analytics"), bootstrap, cfg.producer_properties, "analytics"),
      window_ns_(static_cast<std::int64_t>(seed_sink_settings_of(cfg).window_ms) * 1'000'000),
      top_k_(seed_sink_settings_of(cfg).top_k) {}

void analytics_sink::reload(const settings& next) {
    window_ms_.store(seed_sink_settings_of(next).window_ms, std::memory_order_relaxed);
}

void analytics_sink::close_window(const char* reason) {
    if (!open_) return;
    const std::string rollup = window_.to_json(ctx_.types, top_k_, true, reason);
    char key[24];
    const auto end = std::to_chars(key, key + sizeof key, window_.start_ns / 1'000'000).ptr;
    tracker_.emit_unbound(std::string_view(key, static_cast<std::size_t>(end - key)), rollup);
    tracker_.flush();
    open_ = false;
    std::lock_guard lock(live_mutex_);
    ++rollups_;
    last_rollup_ = rollup;
}

analytics_sink::viewed analytics_sink::viewed_of(std::string_view type) noexcept {
    if (type == "article.view") return viewed::article;
    if (type == "project.view") return viewed::project;
    return viewed::nothing;
}

namespace {
// Whose event it is, for the distinct-user count.
str_ref user_of(const seed_fields& e) noexcept {
    return !e.user_id.empty() ? e.user_id : !e.actor_id.empty() ? e.actor_id : e.author_id;
}
}  // namespace

void analytics_sink::prefetch(const event_slot& slot) {
    const str_ref user = user_of(seed_fields_of(slot));
    if (!user.empty()) window_.users.prefetch(key_hash(slot.str(user)));
}

void analytics_sink::process(event_slot& slot, std::uint32_t slot_index) {
    const seed_fields& e = seed_fields_of(slot);
    const std::int64_t ts = e.timestamp_ns;
    if (!open_ || ts >= window_.end_ns) {
        close_window("window end");
        // A reloaded window length applies from the next window on.
        window_ns_ = static_cast<std::int64_t>(window_ms_.load(std::memory_order_relaxed)) * 1'000'000;
        const std::int64_t start = ts - ((ts % window_ns_) + window_ns_) % window_ns_;
        window_.reset(start, window_ns_);
        open_ = true;
    }
    if (ts < window_.start_ns) ++window_.late;
    ++window_.events;
    ++window_.counts[slot.ev.type];
    const viewed v = views_(slot.ev.type);
    if (v == viewed::article) window_.top_articles.add(slot.str(e.entity_id));
    else if (v == viewed::project) window_.top_projects.add(slot.str(e.entity_id));
    const str_ref user = user_of(e);
    // Distinct by the id's text, as the directory joins ("002" is not user 2).
    if (!user.empty()) window_.users.add(key_hash(slot.str(user)));
    ++since_poll_;
    ctx_.done(slot);  // counted: see the class comment
    (void)slot_index;
}

void analytics_sink::publish_live() {
    // The buffer published last time is written this time, grown at once to
    // what was just published: both keep their capacity, so a steady state
    // publishes without allocating.
    if (open_) window_.write_json(live_next_, ctx_.types, top_k_, false);
    else live_next_.assign("null");
    {
        std::lock_guard lock(live_mutex_);
        live_.swap(live_next_);
    }
    live_next_.reserve(live_.size());  // live_ changes only on this thread
}

bool analytics_sink::poll(std::int64_t now_ns) {
    bool work = tracker_.poll(now_ns);
    // Once per batch rather than a clock read per event.
    if (since_poll_) {
        last_event_wall_ns_ = now_ns;
        since_poll_ = 0;
    }
    // No event for a whole window length of wall time: the window is over.
    if (open_ && now_ns - last_event_wall_ns_ > window_ns_) {
        close_window("idle");
        work = true;
    }
    if (now_ns - last_publish_ns_ > 1'000'000'000) {
        last_publish_ns_ = now_ns;
        publish_live();
    }
    return work;
}

std::string analytics_sink::live_json() const {
    std::lock_guard lock(live_mutex_);
    std::string out;
    json_writer w(out);
    w.begin_object().field("rollups_emitted", rollups_);
    w.key("open_window").raw(live_.empty() ? "null" : live_);
    w.key("last_rollup").raw(last_rollup_.empty() ? "null" : last_rollup_);
    w.end_object();
    return out;
}

}  // namespace sluice
