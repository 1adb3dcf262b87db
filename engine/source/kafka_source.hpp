// The source role: consumer-group reader, decoder, router and dispatcher.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dead_letter/dead_letter.hpp"
#include "kafka/kafka_handles.hpp"
#include "pipeline/dispatcher.hpp"
#include "pipeline/flow.hpp"
#include "pipeline/routing.hpp"
#include "source/event_source.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// Design: everything here runs on the source thread: the consumer poll, the
// rebalance callback (so pause/resume/assign happen on the consuming
// thread, as librdkafka 2.0.2 needs), decoding and dispatch. A partition's
// life is its dispatcher's partition_table; this class drives it from
// librdkafka's events. Rules (engine/README.md has the why):
// - every start offset is absolute, resolved here from the committed offset,
//   the log's ends and the reset policy; librdkafka's own reset policy is
//   "error", so a position the log no longer has comes back here;
// - messages are read one rd_kafka_consumer_poll at a time (the batch call
//   loses messages around rebalances and pauses in 2.0.x) and each is
//   admitted by the table right after the poll that returned it;
// - only what sluice paused is resumed;
// - a revoke drains, stops the commit thread committing the epoch, then
//   commits the watermark synchronously, all within a deadline.
// Other threads only read metrics and the partition views.
class kafka_source final : public event_source {
public:
    kafka_source(const settings& cfg, const std::string& bootstrap, flow& f, pipeline_metrics& m,
                 type_registry& types, const event_schema& schema, const routing_table& routes,
                 dead_letter_producer& dlq);
    ~kafka_source() override;

    // Source thread: consume until flow.stop_source, then drain, commit
    // finally and close the consumer, all by flow.shutdown_deadline_ns.
    void run() override;

    std::int64_t first_event_mono_ns() const noexcept override { return dispatch_.first_event_mono_ns(); }
    const std::vector<std::string>& unconfirmed() const noexcept override { return unconfirmed_; }

    // Source thread or after run(): the consumer, e.g. for the commit thread.
    rd_kafka_t* consumer() noexcept { return rk_.get(); }

private:
    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque);
    void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
    void assign(rd_kafka_topic_partition_list_t* parts);
    void revoke(const std::vector<std::uint32_t>& idxs, bool lost, std::int64_t deadline_ns, bool final);
    void revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
    struct resolved {
        std::int64_t end = -1;        // high watermark now (-1: unknown)
        std::int64_t committed = -1;  // the group's committed offset (-1: none or unknown)
    };
    // Resolves the absolute start offset of every partition of parts (in
    // place) from the committed offsets, the log's ends and the policy.
    std::vector<resolved> resolve_starts(rd_kafka_topic_partition_list_t* parts);
    // The broker no longer has a partition's position: move it by the policy.
    void reset_position(const rd_kafka_message_t* m);
    // Makes librdkafka fetch partition idx again from absolute offset to.
    void restart_at(std::uint32_t idx, std::int64_t to);
    // Commits the watermarks of idxs and waits for the answer until
    // deadline_ns; true when every one was confirmed.
    bool commit_sync(const std::vector<std::uint32_t>& idxs, std::int64_t deadline_ns);
    void close_consumer();
    std::uint32_t partition_index(rd_kafka_topic_t* rkt, std::int32_t partition);  // UINT32_MAX: not assigned
    void drop_held(std::uint32_t idx);  // UINT32_MAX: every held message

    void handle(rd_kafka_message_t* m);  // takes ownership
    bool dispatch(rd_kafka_message_t* m, std::uint32_t idx);  // false: no room yet (dispatcher::ready)
    void wait_for_room();
    void destroy_dispatched();
    void set_paused(bool pause);  // every assigned partition sluice has not paused / exactly those it has

    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    dispatcher dispatch_;
    kafka_handle rk_;
    bool cooperative_ = false;
    bool ever_assigned_ = false;  // the rebalance callback has seen an assignment
    bool closed_ = false;         // the consumer close finished

    std::vector<rd_kafka_message_t*> held_;  // consumed, not yet dispatched (FIFO)
    std::size_t held_head_ = 0;
    // Dispatched (copied into their slots), destroyed together after each
    // batch: destroying a message releases references on counters that
    // librdkafka's fetch thread increments for every new message, and a burst
    // moves those cache lines over once instead of once per message.
    std::vector<rd_kafka_message_t*> dispatched_;
    bool paused_ = false;
    std::vector<std::string> unconfirmed_;  // after run(): what the final commit did not cover
};

}  // namespace sluice
