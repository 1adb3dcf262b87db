// The commit role: turns completions into per-partition watermarks and batched commits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commit/commit_tracker.hpp"
#include "config/config.hpp"
#include "dead_letter/dead_letter.hpp"
#include "kafka/kafka_handles.hpp"
#include "pipeline/flow.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// Design: run() is the commit thread. It alone owns the watermarks, polls the
// dead-letter producer (so dead-letter deliveries release slots here, through
// `own`, which spills instead of waiting when full: this thread drains it),
// and issues asynchronous commits through its own queue. It publishes
// per-partition values to metrics for the source (revoke drain) and stats.
// Which partitions it may commit is its own state, learnt from the source's
// assign and revoke records in order with the events: it commits a partition
// only between the assign record of an epoch and its revoke record, and
// applies a commit result only to the epoch that asked for it. (The source's
// `assigned` flag runs ahead of the records and would let an old epoch's
// state be committed over a new one.)
// Without a consumer (a replay) there is no broker to commit to: a commit is
// the watermark itself, confirmed at once, with the same batching.
class committer {
public:
    // consumer: nullptr for a source without one (replay).
    committer(const settings& cfg, flow& f, pipeline_metrics& m, rd_kafka_t* consumer,
              dead_letter_producer& dlq, std::vector<ack_channel*> channels, ack_channel& own);
    ~committer();

    void run();

private:
    // One round: records and acks, dead letters, commit results, a commit if
    // due, the views now and then; true if it did work.
    bool pump();
    void take_record(const flow_record& r, std::int64_t now);
    void take_acks(std::size_t n, std::int64_t now);  // the first n of acks_
    // Event seq of partition idx (current epoch) is done.
    void finish(std::uint32_t idx, std::uint64_t seq, std::int64_t now);
    void publish_touched();
    // Polls the dead-letter producer: its deliveries release into own_.
    void serve_dead_letters();
    // Whether a commit is to be asked now (clears flow.commit_requested if it is taken).
    bool commit_due(std::int64_t now);
    void commit_now(std::int64_t now);
    void commit_locally(std::int64_t now);
    bool serve_commit_results();
    void publish(std::uint32_t idx);
    void refresh_views(std::int64_t now);
    void touch(std::uint32_t idx);
    // Publishes closed_epoch for revoked epochs with no commit request left.
    void close_settled();

    // One asynchronous commit request: which epochs of which partitions.
    struct request {
        struct entry {
            std::uint32_t idx, epoch;
            const partition_name* name;  // as asked: an answer element is checked against it
        };
        std::uint64_t id = 0;
        std::int64_t sent_ns = 0;
        std::vector<entry> parts;
        // The entry an answer element is for: the one its opaque names, or
        // (the opaque lost or wrong) the one of its topic and partition;
        // nullptr if none.
        const entry* answered(const rd_kafka_topic_partition_t& tp, bool& by_name) const noexcept;
    };

    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    rd_kafka_t* consumer_;
    dead_letter_producer& dlq_;
    std::vector<ack_channel*> channels_;
    ack_channel& own_;
    kafka_queue results_;

    std::vector<std::unique_ptr<partition_commits>> parts_;  // by partition index; null: not assigned
    std::vector<std::uint32_t> epochs_;
    std::vector<std::int64_t> assigned_ns_;  // monotonic, when the epoch's assign record was taken
    std::vector<const partition_name*> names_;  // as of the epoch's assign record
    std::vector<ack> acks_;
    std::vector<std::uint32_t> touched_;
    std::vector<bool> is_touched_;
    std::vector<request> requests_;        // in flight, oldest first
    std::vector<request> spare_requests_;  // answered, kept for their capacity
    std::vector<std::pair<std::uint32_t, std::uint32_t>> closing_;  // revoked (index, epoch) awaiting their requests
    std::uint64_t next_request_ = 1;
    std::uint64_t acks_since_commit_ = 0;
    std::int64_t last_commit_ns_ = 0;
    std::int64_t last_refresh_ns_ = 0;
    bool retry_failed_ = false;  // a commit failed: ask again at the next interval
};

}  // namespace sluice
