// Enrichment: task and article events leave with creator, assignee, actor and author details.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/json_writer.hpp"
#include "config/config.hpp"
#include "directory_follower.hpp"
#include "sink/delivery_tracker.hpp"
#include "sink/sink.hpp"
#include "stats/metrics.hpp"
#include "user_directory.hpp"

namespace sluice {

// Design: all methods on the enrichment thread, except live_json (any thread,
// reads atomics only).
class enrichment_sink final : public sink {
public:
    enrichment_sink(const settings& cfg, const std::string& bootstrap, flow& f, sink_context& ctx);

    std::string_view name() const noexcept override { return "enrichment"; }
    void process(event_slot& slot, std::uint32_t slot_index) override;
    void prefetch(const event_slot& slot) override;
    void prefetch_found(const event_slot& slot) override;
    void end_of_batch() override { tracker_.flush(); }
    bool poll(std::int64_t now_ns) override;
    bool idle() const noexcept override { return tracker_.idle(); }
    std::string live_json() const override;

    // Builds the enriched record of slot into out (exposed for tests and benchmarks).
    void render(const event_slot& slot, std::string& out);

private:
    void person(json_writer* w, std::string_view role, std::string_view id, bool& partial);
    // The joins alone (output `none`): same lookups and counters, no record.
    void join_only(const event_slot& slot);
    void count_partial();

    sink_context& ctx_;
    user_directory directory_;
    std::unique_ptr<directory_follower> follower_;
    delivery_tracker tracker_;
    std::string record_, key_buf_;
    std::atomic<std::uint64_t> users_{0};  // directory size, published for live_json
    counter unknown_ids_;
};

}  // namespace sluice
