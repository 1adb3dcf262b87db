// The source role: consumer-group reader, decoder, router and dispatcher.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"
#include "dead_letter.hpp"
#include "dispatcher.hpp"
#include "event_source.hpp"
#include "flow.hpp"
#include "kafka_handles.hpp"
#include "metrics.hpp"
#include "routing.hpp"

namespace sluice {

// Design: everything here runs on the source thread: the consumer poll, the
// rebalance callback (so pause/resume/assign happen on the consuming thread,
// as librdkafka 2.0.2 needs), decoding and dispatch. Other threads only read
// metrics and the partition views.
class kafka_source final : public event_source {
public:
    kafka_source(const settings& cfg, const std::string& bootstrap, flow& f, pipeline_metrics& m,
                 type_registry& types, const routing_table& routes, dead_letter_producer& dlq);
    ~kafka_source() override;

    // Source thread: consume until flow.stop_source, then close the consumer
    // (which drains in-flight events and commits synchronously).
    void run() override;

    std::int64_t first_event_mono_ns() const noexcept override { return dispatch_.first_event_mono_ns(); }

    // Source thread or after run(): the consumer, e.g. for the commit thread.
    rd_kafka_t* consumer() noexcept { return rk_.get(); }

private:
    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque);
    void assign(rd_kafka_topic_partition_list_t* parts);
    void revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
    std::uint32_t partition_index(rd_kafka_topic_t* rkt, std::int32_t partition);

    void handle(rd_kafka_message_t* m);       // takes ownership
    // idx: m's partition index.
    bool redelivered(rd_kafka_message_t* m, std::uint32_t idx);  // true: destroyed, not to be dispatched
    bool dispatch(rd_kafka_message_t* m, std::uint32_t idx);     // false: no free slot yet
    void wait_for_slot();
    void destroy_dispatched();
    void set_paused(bool pause);  // all assigned partitions

    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    dispatcher dispatch_;
    kafka_handle rk_;
    kafka_queue queue_;

    std::vector<rd_kafka_message_t*> held_;   // consumed, not yet dispatched (FIFO)
    std::size_t held_head_ = 0;
    // Dispatched (copied into their slots), destroyed together after each
    // batch: destroying a message releases references on counters that
    // librdkafka's fetch thread increments for every new message, and a burst
    // moves those cache lines over once instead of once per message.
    std::vector<rd_kafka_message_t*> dispatched_;
    bool paused_ = false;
    std::vector<std::int64_t> last_received_;  // per partition index, this assignment; -1: none
    std::vector<bool> skipping_;               // per partition index: in a run of redeliveries
    struct topic_cache {
        rd_kafka_topic_t* rkt;
        std::vector<std::uint32_t> by_partition;
    };
    std::vector<topic_cache> topics_;
};

}  // namespace sluice
