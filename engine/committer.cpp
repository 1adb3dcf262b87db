// Commit thread: acks -> watermarks -> asynchronous batched commits.
#include "committer.hpp"
#include "log.hpp"

#include <cstdio>
#include <cstring>
#include <thread>

#include "clock.hpp"

namespace sluice {

committer::committer(const settings& cfg, flow& f, pipeline_metrics& m, rd_kafka_t* consumer,
                     dead_letter_producer& dlq, std::vector<ack_channel*> channels, ack_channel& own)
    : cfg_(cfg), flow_(f), metrics_(m), consumer_(consumer), dlq_(dlq),
      channels_(std::move(channels)), own_(own), results_(consumer ? rd_kafka_queue_new(consumer) : nullptr),
      parts_(max_partitions), epochs_(max_partitions, 0), is_touched_(max_partitions, false) {
    channels_.push_back(&own_);
    acks_.resize(channels_.size() * 1024);
    touched_.reserve(max_partitions);
}

committer::~committer() = default;

void committer::publish(std::uint32_t idx) {
    partition_view& v = metrics_.partitions[idx];
    const partition_commits& p = *parts_[idx];
    v.commit_offset.store(p.marks().commit_offset(), std::memory_order_relaxed);
    v.done_epoch.store(epochs_[idx], std::memory_order_relaxed);
    // release: the source reads done (acquire) and then commit_offset/done_epoch.
    v.done.store(p.marks().done_count(), std::memory_order_release);
}

bool committer::pump() {
    // Acks first, then dispatch records: an ack read now belongs to a dispatch
    // that was pushed before it, so it is in the records drained next.
    std::size_t nacks = 0;
    for (ack_channel* ch : channels_) nacks += ch->drain(acks_.data() + nacks, 1024);

    bool work = nacks > 0;
    const std::int64_t now = mono_ns();
    auto touch = [&](std::uint32_t idx) {
        if (!is_touched_[idx]) {
            is_touched_[idx] = true;
            touched_.push_back(idx);
        }
    };
    flow_record rec[256];
    for (;;) {
        const std::size_t n = flow_.to_commit.pop_batch(rec, 256);
        if (n == 0) break;
        work = true;
        for (std::size_t i = 0; i < n; ++i) {
            const flow_record& r = rec[i];
            switch (r.type) {
                case flow_record::kind::assign:
                    parts_[r.partition] = std::make_unique<partition_commits>(flow_.pool.size());
                    epochs_[r.partition] = static_cast<std::uint32_t>(r.seq);
                    touch(r.partition);
                    break;
                case flow_record::kind::revoke:
                    break;  // state stays until the next assignment resets it
                case flow_record::kind::dispatch:
                case flow_record::kind::done_now:
                    if (!parts_[r.partition] || r.epoch != epochs_[r.partition]) break;
                    if (!parts_[r.partition]->marks().dispatched(r.seq, r.offset))
                        logf(log_level::error, "commit", "commit tracker: dispatch out of order on partition %u", r.partition);
                    if (r.type == flow_record::kind::done_now) {
                        parts_[r.partition]->marks().done(r.seq);
                        parts_[r.partition]->note_done(now);
                        ++acks_since_commit_;
                    }
                    touch(r.partition);
                    break;
            }
        }
    }
    for (std::size_t i = 0; i < nacks; ++i) {
        const ack& a = acks_[i];
        auto& p = parts_[a.partition];
        if (!p || a.epoch != epochs_[a.partition]) continue;  // from an earlier assignment
        p->marks().done(a.seq);
        p->note_done(now);
        ++acks_since_commit_;
        touch(a.partition);
    }
    for (std::uint32_t idx : touched_) {
        publish(idx);
        is_touched_[idx] = false;
    }
    touched_.clear();

    dlq_.poll(own_);
    work |= serve_commit_results();
    // A failed commit is asked again at the next interval even when no new
    // event finished since (the tail of a stream would otherwise stay uncommitted).
    const bool due = acks_since_commit_ > 0 || retry_failed_;
    if ((due && flow_.commit_requested.exchange(false, std::memory_order_acq_rel)) ||
        acks_since_commit_ >= flow_.live.commit_max_events.load(std::memory_order_relaxed) ||
        (due && now - last_commit_ns_ >= std::int64_t(flow_.live.commit_interval_ms.load(std::memory_order_relaxed)) * 1'000'000))
        commit_now(now);
    if (now - last_refresh_ns_ >= 100'000'000) refresh_views(now);
    return work;
}

void committer::commit_now(std::int64_t now) {
    last_commit_ns_ = now;
    acks_since_commit_ = 0;
    retry_failed_ = false;
    if (!consumer_) return commit_locally(now);
    const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
    partition_list list(rd_kafka_topic_partition_list_new(16));
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& p = parts_[i];
        const partition_view& v = metrics_.partitions[i];
        if (!p || !v.assigned.load(std::memory_order_acquire) || !p->needs_commit()) continue;
        rd_kafka_topic_partition_list_add(list.get(), v.topic.c_str(), v.partition)->offset = p->marks().commit_offset();
        p->requested(now);
    }
    if (list->cnt == 0) return;
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(consumer_, list.get(), results_.get(), nullptr,
                                                    reinterpret_cast<void*>(now));
    if (err) {
        metrics_.commit.commit_failures.add();
        retry_failed_ = true;
        for (int i = 0; i < list->cnt; ++i)
            for (std::uint32_t j = 0; j < n; ++j)
                if (parts_[j] && metrics_.partitions[j].partition == list->elems[i].partition &&
                    metrics_.partitions[j].topic == list->elems[i].topic)
                    parts_[j]->failed(list->elems[i].offset);
        return;
    }
    ++commits_in_flight_;
}

void committer::commit_locally(std::int64_t now) {
    const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
    bool any = false;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& p = parts_[i];
        partition_view& v = metrics_.partitions[i];
        if (!p || !p->needs_commit()) continue;
        const std::int64_t off = p->marks().commit_offset();
        p->requested(now);
        p->confirmed(off);
        v.committed_offset.store(off, std::memory_order_relaxed);
        any = true;
    }
    if (any) metrics_.commit.commits.add();
}

bool committer::serve_commit_results() {
    if (!results_) return false;
    bool any = false;
    while (rd_kafka_event_t* ev = rd_kafka_queue_poll(results_.get(), 0)) {
        any = true;
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            if (commits_in_flight_) --commits_in_flight_;
            const auto sent = reinterpret_cast<std::int64_t>(rd_kafka_event_opaque(ev));
            metrics_.commit.round_trip.record(static_cast<std::uint64_t>(std::max<std::int64_t>(mono_ns() - sent, 0)));
            const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
            if (err) {
                metrics_.commit.commit_failures.add();
                if (metrics_.commit.commit_failures.get() <= 20)
                    logf(log_level::warning, "commit", "commit failed (will retry): %s", rd_kafka_err2str(err));
            } else {
                metrics_.commit.commits.add();
            }
            const rd_kafka_topic_partition_list_t* offs = rd_kafka_event_topic_partition_list(ev);
            const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
            for (int i = 0; offs && i < offs->cnt; ++i) {
                const auto& tp = offs->elems[i];
                for (std::uint32_t j = 0; j < n; ++j) {
                    partition_view& v = metrics_.partitions[j];
                    if (!parts_[j] || v.partition != tp.partition || v.topic != tp.topic) continue;
                    if (err || tp.err) {
                        parts_[j]->failed(tp.offset);
                        retry_failed_ = true;
                    } else {
                        parts_[j]->confirmed(tp.offset);
                        if (tp.offset > v.committed_offset.load(std::memory_order_relaxed))
                            v.committed_offset.store(tp.offset, std::memory_order_relaxed);
                    }
                }
            }
        }
        rd_kafka_event_destroy(ev);
    }
    return any;
}

void committer::refresh_views(std::int64_t now) {
    last_refresh_ns_ = now;
    const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
        partition_view& v = metrics_.partitions[i];
        if (!parts_[i]) continue;
        v.exposure.store(parts_[i]->exposure(), std::memory_order_relaxed);
        v.exposure_age_ns.store(parts_[i]->exposed_since_ns(now), std::memory_order_relaxed);
        std::int64_t lo = 0, hi = -1;
        if (consumer_ && v.assigned.load(std::memory_order_relaxed) &&
            rd_kafka_get_watermark_offsets(consumer_, v.topic.c_str(), v.partition, &lo, &hi) == 0 && hi >= 0)
            v.high_watermark.store(hi, std::memory_order_relaxed);
    }
}

void committer::run() {
    waiter& w = flow_.commit_waiter;
    for (;;) {
        metrics_.commit.loops.add();
        const bool work = pump();
        if (flow_.stop_commit.load(std::memory_order_acquire)) {
            // The source has closed (final commit done) and the sinks have
            // stopped: finish dead-letter deliveries and pending results.
            const std::int64_t deadline = mono_ns() + 10'000'000'000;
            while ((dlq_.in_flight() > 0 || commits_in_flight_ > 0) && mono_ns() < deadline) {
                pump();
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            pump();
            // A replay's final commit (a consumer's was made on close).
            if (!consumer_) commit_locally(mono_ns());
            return;
        }
        if (work) {
            w.reset();
            continue;
        }
        // Park at most until the next commit is due (or a dead-letter report
        // may be waiting).
        w.idle([&] { return !flow_.to_commit.empty_approx(); },
               std::chrono::microseconds(dlq_.in_flight() > 0 || commits_in_flight_ > 0 ? 1000 : 5000));
    }
}

}  // namespace sluice
