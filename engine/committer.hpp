// The commit role: turns completions into per-partition watermarks and batched commits.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commit_tracker.hpp"
#include "config.hpp"
#include "dead_letter.hpp"
#include "flow.hpp"
#include "kafka_handles.hpp"
#include "metrics.hpp"

namespace sluice {

// Design: run() is the commit thread. It alone owns the watermarks, polls the
// dead-letter producer (so dead-letter deliveries release slots here, through
// `own`), and issues asynchronous commits through its own queue. It publishes
// per-partition values to metrics for the source (revoke drain) and stats.
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
    bool pump();  // one round; true if it did work
    void commit_now(std::int64_t now);
    void commit_locally(std::int64_t now);
    bool serve_commit_results();
    void publish(std::uint32_t idx);
    void refresh_views(std::int64_t now);

    const settings& cfg_;
    flow& flow_;
    pipeline_metrics& metrics_;
    rd_kafka_t* consumer_;
    dead_letter_producer& dlq_;
    std::vector<ack_channel*> channels_;
    ack_channel& own_;
    kafka_queue results_;

    std::vector<std::unique_ptr<partition_commits>> parts_;  // by partition index
    std::vector<std::uint32_t> epochs_;
    std::vector<ack> acks_;
    std::vector<std::uint32_t> touched_;
    std::vector<bool> is_touched_;
    std::uint64_t acks_since_commit_ = 0;
    std::int64_t last_commit_ns_ = 0;
    std::int64_t last_refresh_ns_ = 0;
    std::size_t commits_in_flight_ = 0;
    bool retry_failed_ = false;  // a commit failed: ask again at the next interval
};

}  // namespace sluice
