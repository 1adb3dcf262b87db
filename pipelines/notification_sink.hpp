// Notification: who gets told what, deduplicated, delivered with retries.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/json_writer.hpp"
#include "config/config.hpp"
#include "dedup_window.hpp"
#include "directory_follower.hpp"
#include "seed_fields.hpp"
#include "sink/delivery_tracker.hpp"
#include "sink/sink.hpp"
#include "stats/metrics.hpp"
#include "user_directory.hpp"

namespace sluice {

// The keys this sink reads (sinks.notification.*), for the seed domain.
void register_notification_keys(config_registry& keys);

// Design: all methods on the notification thread, except live_json (atomics).
// Rules: task events notify the creator and the assignee, the
// assignee only if different from the creator, never the actor; user.created
// sends a welcome; email.send and notification.create pass through.
class notification_sink final : public sink {
public:
    notification_sink(const settings& cfg, const std::string& bootstrap, flow& f, sink_context& ctx);

    std::string_view name() const noexcept override { return "notification"; }
    void process(event_slot& slot, std::uint32_t slot_index) override;
    void prefetch(const event_slot& slot) override;
    void prefetch_found(const event_slot& slot) override;
    void end_of_batch() override { tracker_.flush(); }
    bool poll(std::int64_t now_ns) override;
    bool idle() const noexcept override { return tracker_.idle(); }
    std::string live_json() const override;

private:
    // What the rules do with an event type.
    enum class rule : std::uint8_t { none, task, welcome, pass_through };
    static rule rule_of(std::string_view type) noexcept;

    void notify(const event_slot& slot, std::string_view kind, std::string_view recipient_id,
                std::string_view email, std::string_view username, std::string_view key);

    sink_context& ctx_;
    type_classes<rule> rules_;
    user_directory directory_;
    std::unique_ptr<directory_follower> follower_;
    dedup_window dedup_;
    delivery_tracker tracker_;
    std::string record_, key_buf_, id_buf_, prefetch_key_buf_;
    counter sent_, no_recipient_;
};

}  // namespace sluice
