// Commit thread: acks -> watermarks -> asynchronous batched commits.
#include "commit/committer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

committer::committer(const settings& cfg, flow& f, pipeline_metrics& m, rd_kafka_t* consumer,
                     dead_letter_producer& dlq, std::vector<ack_channel*> channels, ack_channel& own)
    : cfg_(cfg), flow_(f), metrics_(m), consumer_(consumer), dlq_(dlq),
      channels_(std::move(channels)), own_(own), results_(consumer ? rd_kafka_queue_new(consumer) : nullptr),
      parts_(max_partitions), epochs_(max_partitions, 0), assigned_ns_(max_partitions, 0), names_(max_partitions, nullptr),
      is_touched_(max_partitions, false) {
    own_.same_thread_consumer();
    channels_.push_back(&own_);
    acks_.resize(channels_.size() * 1024);
    touched_.reserve(max_partitions);
    requests_.reserve(16);
    closing_.reserve(max_partitions);
    last_commit_ns_ = mono_ns();  // the interval counts from the start
    spare_requests_.reserve(16);
}

committer::~committer() = default;

void committer::publish(std::uint32_t idx) {
    partition_view& v = metrics_.partitions[idx];
    const partition_commits& p = *parts_[idx];
    v.commit_offset.store(p.marks().commit_offset(), std::memory_order_relaxed);
    // release: the source reads done_mark (acquire) and then commit_offset.
    v.done_mark.store(done_mark(epochs_[idx], p.marks().done_count()), std::memory_order_release);
}

void committer::close_settled() {
    for (std::size_t i = 0; i < closing_.size();) {
        const auto [idx, epoch] = closing_[i];
        bool outstanding = false;
        for (const request& q : requests_)
            for (const request::entry& e : q.parts) outstanding |= e.idx == idx && e.epoch == epoch;
        if (outstanding) {
            ++i;
            continue;
        }
        // release: the source, seeing this epoch closed, knows no commit of
        // it is asked for or in flight besides its own final one.
        // Only forward: a late answer for an older epoch settles after a newer one.
        std::atomic<std::uint64_t>& closed = metrics_.partitions[idx].closed_epoch;
        if (epoch > closed.load(std::memory_order_relaxed)) closed.store(epoch, std::memory_order_release);
        closing_[i] = closing_.back();
        closing_.pop_back();
    }
}

void committer::touch(std::uint32_t idx) {
    if (!is_touched_[idx]) {
        is_touched_[idx] = true;
        touched_.push_back(idx);
    }
}

void committer::take_record(const flow_record& r, std::int64_t now) {
    auto& p = parts_[r.partition];
    switch (r.type) {
        case flow_record::kind::assign:
            // A new epoch (an assignment, or a reset of the position):
            // whatever the previous one left is not committed any more.
            // Small at first: it doubles as a partition's share of the
            // in-flight events grows (a new epoch per rebalance and reset
            // would otherwise cost a pool-sized ring per partition).
            p = std::make_unique<partition_commits>(std::min<std::size_t>(flow_.in_flight.size(), 1024));
            epochs_[r.partition] = static_cast<std::uint32_t>(r.seq);
            assigned_ns_[r.partition] = now;
            // acquire: the source set the name before pushing this record.
            names_[r.partition] = metrics_.partitions[r.partition].name.load(std::memory_order_acquire);
            touch(r.partition);
            break;
        case flow_record::kind::revoke:
            if (p && epochs_[r.partition] == static_cast<std::uint32_t>(r.seq)) {
                publish(r.partition);
                metrics_.partitions[r.partition].exposure.store(p->exposure(), std::memory_order_relaxed);
                p.reset();
            }
            // Closed once no request of this epoch is outstanding either:
            // librdkafka resends a commit on some errors, and a resend landing
            // after the source's final synchronous commit would move the
            // group's offset back.
            closing_.emplace_back(r.partition, static_cast<std::uint32_t>(r.seq));
            close_settled();
            break;
        case flow_record::kind::dispatch:
        case flow_record::kind::done_now:
            if (!p || r.epoch != epochs_[r.partition]) break;
            if (!p->marks().dispatched(r.seq, r.offset))
                logf(log_level::warning, "commit", "commit tracker: dispatch out of order on partition %u", r.partition);
            if (r.type == flow_record::kind::done_now)
                finish(r.partition, r.seq, now);  // touches it
            else
                touch(r.partition);
            break;
    }
}

bool committer::pump() {
    const std::int64_t now = mono_ns();
    bool took_records = false;
    // The commit order (acks, then records) is commit_records'.
    const std::size_t nacks = flow_.to_commit.collect(
        channels_, acks_.data(), 1024, [&](const flow_record& r) { take_record(r, now); }, took_records);
    take_acks(nacks, now);
    publish_touched();
    serve_dead_letters();
    const bool answered = serve_commit_results();
    if (commit_due(now)) commit_now(now);
    if (now - last_refresh_ns_ >= 100'000'000) refresh_views(now);
    return nacks > 0 || took_records || answered;
}

void committer::finish(std::uint32_t idx, std::uint64_t seq, std::int64_t now) {
    partition_commits& p = *parts_[idx];
    p.marks().done(seq);
    p.note_done(now);
    ++acks_since_commit_;
    touch(idx);
}

void committer::take_acks(std::size_t n, std::int64_t now) {
    for (std::size_t i = 0; i < n; ++i) {
        const ack& a = acks_[i];
        if (!parts_[a.partition] || a.epoch != epochs_[a.partition]) continue;  // from an earlier epoch
        finish(a.partition, a.seq, now);
    }
}

void committer::publish_touched() {
    for (std::uint32_t idx : touched_) {
        if (parts_[idx]) publish(idx);
        is_touched_[idx] = false;
    }
    touched_.clear();
}

void committer::serve_dead_letters() {
    // Dead-letter deliveries release through own_, drained at the next pump
    // (after the records that their dispatches pushed).
    dlq_.poll(own_);
    own_.flush();  // wakes the source if a dead letter freed its next in-flight event
}

bool committer::commit_due(std::int64_t now) {
    // One commit request in flight at a time: librdkafka resends a request
    // that failed with a retriable error (NOT_COORDINATOR, COORDINATOR_LOAD_
    // IN_PROGRESS ...), and a resent older request could land after a newer
    // one and move the group's offset back.
    if (!requests_.empty()) return false;
    // A failed commit is asked again at the next interval even when no new
    // event finished since (the tail of a stream would otherwise stay uncommitted).
    const bool due = acks_since_commit_ > 0 || retry_failed_;
    // An asked-for commit is taken (the flag cleared) only when one is due.
    return (due && flow_.commit_requested.exchange(false, std::memory_order_acq_rel)) ||
           acks_since_commit_ >= flow_.live.commit_max_events.load(std::memory_order_relaxed) ||
           (due && now - last_commit_ns_ >=
                       std::int64_t(flow_.live.commit_interval_ms.load(std::memory_order_relaxed)) * 1'000'000);
}

void committer::commit_now(std::int64_t now) {
    last_commit_ns_ = now;
    acks_since_commit_ = 0;
    retry_failed_ = false;
    if (!consumer_) return commit_locally(now);
    const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
    partition_list list(rd_kafka_topic_partition_list_new(16));
    // Request records are reused: no allocation per commit in steady state.
    request req;
    if (!spare_requests_.empty()) {
        req = std::move(spare_requests_.back());
        spare_requests_.pop_back();
        req.parts.clear();
    }
    req.id = next_request_++;
    req.sent_ns = now;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& p = parts_[i];
        if (!p || !p->needs_commit()) continue;
        rd_kafka_topic_partition_t* tp =
            rd_kafka_topic_partition_list_add(list.get(), names_[i]->topic.c_str(), names_[i]->partition);
        tp->offset = p->marks().commit_offset();
        // The answer carries it back (librdkafka copies an element's opaque
        // with it): which entry of req.parts this element is.
        tp->opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(req.parts.size()));
        p->requested(now);
        req.parts.push_back({i, epochs_[i], names_[i]});
    }
    if (list->cnt == 0) return;
    const rd_kafka_resp_err_t err = rd_kafka_commit_queue(consumer_, list.get(), results_.get(), nullptr,
                                                          reinterpret_cast<void*>(req.id));
    if (err) {
        metrics_.commit.commit_failures.add();
        retry_failed_ = true;
        for (const auto& [idx, epoch, name] : req.parts)
            if (parts_[idx] && epochs_[idx] == epoch) parts_[idx]->failed(parts_[idx]->marks().commit_offset());
        spare_requests_.push_back(std::move(req));
        return;
    }
    requests_.push_back(std::move(req));
}

const committer::request::entry* committer::request::answered(const rd_kafka_topic_partition_t& tp,
                                                              bool& by_name) const noexcept {
    auto names = [&](const entry& e) { return e.name->partition == tp.partition && e.name->topic == tp.topic; };
    // The element's opaque is its entry in parts (commit_now); the name check
    // guards that the answer is of that element.
    const auto k = reinterpret_cast<std::uintptr_t>(tp.opaque);
    if (k < parts.size() && names(parts[k])) return &parts[k];
    // Behaviour never depends on the opaque surviving the round trip.
    by_name = true;
    for (const entry& e : parts)
        if (names(e)) return &e;
    return nullptr;
}

void committer::commit_locally(std::int64_t now) {
    const std::uint32_t n = metrics_.partition_count.load(std::memory_order_acquire);
    bool any = false;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& p = parts_[i];
        if (!p || !p->needs_commit()) continue;
        const std::int64_t off = p->marks().commit_offset();
        p->requested(now);
        p->confirmed(off);
        metrics_.partitions[i].committed_offset.store(off, std::memory_order_relaxed);
        any = true;
    }
    if (any) metrics_.commit.commits.add();
}

bool committer::serve_commit_results() {
    if (!results_) return false;
    bool any = false;
    while (rd_kafka_event_t* ev = rd_kafka_queue_poll(results_.get(), 0)) {
        any = true;
        if (rd_kafka_event_type(ev) != RD_KAFKA_EVENT_OFFSET_COMMIT) {
            rd_kafka_event_destroy(ev);
            continue;
        }
        const auto id = reinterpret_cast<std::uint64_t>(rd_kafka_event_opaque(ev));
        auto req = requests_.begin();
        while (req != requests_.end() && req->id != id) ++req;
        const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        if (err) {
            metrics_.commit.commit_failures.add();
            if (metrics_.commit.commit_failures.get() <= 20)
                logf(log_level::warning, "commit", "commit failed (will retry): %s", rd_kafka_err2str(err));
        } else {
            metrics_.commit.commits.add();
        }
        if (req != requests_.end()) {
            metrics_.commit.round_trip.record(static_cast<std::uint64_t>(std::max<std::int64_t>(mono_ns() - req->sent_ns, 0)));
            const rd_kafka_topic_partition_list_t* offs = rd_kafka_event_topic_partition_list(ev);
            int by_name = 0;
            for (int i = 0; offs && i < offs->cnt; ++i) {
                const auto& tp = offs->elems[i];
                bool scanned = false;
                const request::entry* e = req->answered(tp, scanned);
                by_name += scanned;
                if (!e) continue;
                const auto [idx, epoch, name] = *e;
                // Only the epoch that asked: a later one has its own watermark.
                if (!parts_[idx] || epochs_[idx] != epoch) continue;
                if (err || tp.err) {
                    parts_[idx]->failed(tp.offset);
                    retry_failed_ = true;
                } else {
                    parts_[idx]->confirmed(tp.offset);
                    partition_view& v = metrics_.partitions[idx];
                    if (tp.offset > v.committed_offset.load(std::memory_order_relaxed))
                        v.committed_offset.store(tp.offset, std::memory_order_relaxed);
                }
            }
            if (by_name > 0) {
                metrics_.commit.answers_by_name.add(static_cast<std::uint64_t>(by_name));
                logf(log_level::warning, "commit.answer",
                     "commit answer: %d of %d elements did not name their request entry (opaque); matched by "
                     "topic and partition",
                     by_name, offs->cnt);
            }
            spare_requests_.push_back(std::move(*req));
            requests_.erase(req);
            if (!closing_.empty()) close_settled();
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
        if (consumer_ && rd_kafka_get_watermark_offsets(consumer_, names_[i]->topic.c_str(), names_[i]->partition, &lo,
                                                        &hi) == 0 && hi >= 0) {
            v.high_watermark.store(hi, std::memory_order_relaxed);
            // The end was unknown at assignment (the broker did not answer in
            // time): the first end known in this epoch stands for it
            // (--until-caught-up). librdkafka's cached end is this epoch's
            // after a fetch of it: one that brought an event, or any after
            // two seconds (fetches return within fetch.wait.max.ms, also
            // empty ones, so an empty partition's end is learnt too).
            std::int64_t unknown = -1;
            if (v.dispatched.load(std::memory_order_relaxed) > 0 || now - assigned_ns_[i] > 2'000'000'000)
                v.end_at_assign.compare_exchange_strong(unknown, hi, std::memory_order_acq_rel);
        }
    }
}

void committer::run() {
    waiter& w = flow_.commit_waiter;
    for (;;) {
        metrics_.commit.loops.add();
        const bool work = pump();
        if (flow_.stop_commit.load(std::memory_order_acquire)) {
            // The source has closed (final commit done or given up) and the
            // sinks have stopped: finish dead-letter deliveries and pending
            // results, within the shutdown deadline.
            const std::int64_t deadline = flow_.shutdown_deadline_ns.load(std::memory_order_acquire);
            while ((dlq_.in_flight() > 0 || !requests_.empty()) && mono_ns() < deadline) {
                pump();
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            pump();
            // A replay's final commit (a consumer's was made on close).
            if (!consumer_) commit_locally(mono_ns());
            refresh_views(mono_ns());
            return;
        }
        if (work) {
            w.reset();
            continue;
        }
        // Park at most until the next commit is due (or a dead-letter report
        // may be waiting).
        w.idle([&] { return !flow_.to_commit.empty_approx(); },
               std::chrono::microseconds(dlq_.in_flight() > 0 || !requests_.empty() ? 1000 : 5000));
    }
}

}  // namespace sluice
