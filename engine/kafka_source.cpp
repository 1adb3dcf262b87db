// Consumer-group source: poll, decode, route, dispatch; rebalances with drain and sync commit.
#include "kafka_source.hpp"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "clock.hpp"

namespace sluice {

namespace {
constexpr std::size_t poll_batch = 256;
}

kafka_source::kafka_source(const settings& cfg, const std::string& bootstrap, flow& f,
                           pipeline_metrics& m, type_registry& types, const routing_table& routes,
                           dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), dispatch_(cfg, f, m, types, routes, dlq),
      last_received_(max_partitions, -1), skipping_(max_partitions, false) {
    kafka_config conf;
    conf.set_all(consumer_defaults(cfg.kafka_properties));
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", cfg.group_id);
    conf.set_all(cfg.kafka_properties);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &kafka_source::on_rebalance);
    rk_ = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk_.get());
    queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));

    rd_kafka_topic_partition_list_t* subs = rd_kafka_topic_partition_list_new(static_cast<int>(cfg.topics.size()));
    for (const auto& t : cfg.topics) rd_kafka_topic_partition_list_add(subs, t.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) throw std::runtime_error(std::string("subscribe: ") + rd_kafka_err2str(err));
    held_.reserve(poll_batch * 4);
    dispatched_.reserve(poll_batch);
}

kafka_source::~kafka_source() {
    destroy_dispatched();
    for (std::size_t i = held_head_; i < held_.size(); ++i) rd_kafka_message_destroy(held_[i]);
}

void kafka_source::destroy_dispatched() {
    for (rd_kafka_message_t* m : dispatched_) rd_kafka_message_destroy(m);
    dispatched_.clear();
}

std::uint32_t kafka_source::partition_index(rd_kafka_topic_t* rkt, std::int32_t partition) {
    for (auto& t : topics_) {
        if (t.rkt == rkt && partition >= 0 && static_cast<std::size_t>(partition) < t.by_partition.size() &&
            t.by_partition[static_cast<std::size_t>(partition)] != UINT32_MAX)
            return t.by_partition[static_cast<std::size_t>(partition)];
    }
    // Miss (first message of a partition): resolve by name and cache.
    const std::uint32_t idx = dispatch_.partition_index(rd_kafka_topic_name(rkt), partition);
    topic_cache* tc = nullptr;
    for (auto& t : topics_)
        if (t.rkt == rkt) tc = &t;
    if (!tc) {
        topics_.push_back({rkt, {}});
        tc = &topics_.back();
    }
    if (tc->by_partition.size() <= static_cast<std::size_t>(partition))
        tc->by_partition.resize(static_cast<std::size_t>(partition) + 1, UINT32_MAX);
    tc->by_partition[static_cast<std::size_t>(partition)] = idx;
    return idx;
}

void kafka_source::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<kafka_source*>(opaque);
    self->metrics_.source.rebalances.add();
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        self->assign(parts);
        rd_kafka_error_t* e = nullptr;
        if (cooperative) e = rd_kafka_incremental_assign(rk, parts);
        else rd_kafka_assign(rk, parts);
        if (e) {
            std::fprintf(stderr, "sluice: incremental assign failed: %s\n", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        // Paused for backpressure: new partitions wait too, or their messages
        // would pile up in the held list while no slot is free.
        if (self->paused_) rd_kafka_pause_partitions(rk, parts);
    } else {
        self->revoke(parts, rd_kafka_assignment_lost(rk));
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, nullptr);
        }
    }
}

namespace {
// ListOffsets for every partition of parts at once (which: -2 earliest, -1
// latest): one request per leader instead of a round trip per partition
// inside the rebalance callback. -1 where unknown.
std::vector<std::int64_t> offsets_at(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* parts,
                                     std::int64_t which) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(parts->cnt), -1);
    partition_list q(rd_kafka_topic_partition_list_copy(parts));
    for (int i = 0; i < q->cnt; ++i) q->elems[i].offset = which;
    if (rd_kafka_offsets_for_times(rk, q.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    for (int i = 0; i < q->cnt; ++i)
        if (!q->elems[i].err && q->elems[i].offset >= 0) out[static_cast<std::size_t>(i)] = q->elems[i].offset;
    return out;
}
}  // namespace

void kafka_source::assign(rd_kafka_topic_partition_list_t* parts) {
    // The ends as of now, for --until-caught-up ("everything that was there").
    const std::vector<std::int64_t> starts = offsets_at(rk_.get(), parts, -2), ends = offsets_at(rk_.get(), parts, -1);
    for (int i = 0; i < parts->cnt; ++i) {
        const auto& tp = parts->elems[i];
        const std::uint32_t idx = dispatch_.partition_index(tp.topic, tp.partition);
        partition_view& v = metrics_.partitions[idx];
        const std::uint64_t epoch = v.assign_epoch.load(std::memory_order_relaxed) + 1;
        v.assign_epoch.store(epoch, std::memory_order_relaxed);
        v.dispatched.store(0, std::memory_order_relaxed);
        v.assigned.store(true, std::memory_order_release);
        dispatch_.next_seq(idx) = 0;
        last_received_[idx] = -1;
        v.start_offset.store(starts[static_cast<std::size_t>(i)], std::memory_order_relaxed);
        v.end_at_assign.store(ends[static_cast<std::size_t>(i)], std::memory_order_release);
        dispatch_.push_record({flow_record::kind::assign, idx, epoch, 0});
        metrics_.source.assigned_partitions.add();
    }
    flow_.commit_waiter.notify();
}

void kafka_source::revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
    std::vector<std::uint32_t> idxs;
    for (int i = 0; i < parts->cnt; ++i)
        idxs.push_back(dispatch_.partition_index(parts->elems[i].topic, parts->elems[i].partition));

    // Held messages of revoked partitions were never dispatched: drop them;
    // the next owner reads them again from the committed offset.
    std::size_t keep = held_head_;
    for (std::size_t i = held_head_; i < held_.size(); ++i) {
        rd_kafka_message_t* m = held_[i];
        bool revoked = false;
        for (int j = 0; j < parts->cnt; ++j)
            revoked |= m->partition == parts->elems[j].partition &&
                       std::strcmp(rd_kafka_topic_name(m->rkt), parts->elems[j].topic) == 0;
        if (revoked) rd_kafka_message_destroy(m);
        else held_[keep++] = m;
    }
    held_.resize(keep);

    // Drain: every dispatched event of these partitions finishes in all its
    // sinks (the sinks and the commit thread keep running meanwhile).
    dispatch_.notify();
    flow_.commit_waiter.notify();
    const std::int64_t deadline = mono_ns() + std::int64_t(cfg_.revoke_drain_timeout_ms) * 1'000'000;
    for (std::uint32_t idx : idxs) {
        partition_view& v = metrics_.partitions[idx];
        while (!(v.done_epoch.load(std::memory_order_acquire) == v.assign_epoch.load(std::memory_order_relaxed) &&
                 v.done.load(std::memory_order_acquire) == dispatch_.next_seq(idx))) {
            if (mono_ns() > deadline) {
                std::fprintf(stderr, "sluice: revoke of %s[%d]: %llu events still in flight after %u ms; committing what is done\n",
                             v.topic.c_str(), v.partition,
                             static_cast<unsigned long long>(dispatch_.next_seq(idx) - v.done.load()), cfg_.revoke_drain_timeout_ms);
                break;
            }
            flow_.commit_waiter.notify();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }

    // Synchronous commit of the watermark of each revoked partition.
    if (!lost) {
        partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(idxs.size())));
        for (std::uint32_t idx : idxs) {
            partition_view& v = metrics_.partitions[idx];
            const std::int64_t off = v.commit_offset.load(std::memory_order_acquire);
            if (v.done_epoch.load(std::memory_order_acquire) == v.assign_epoch.load() && off >= 0 &&
                off > v.committed_offset.load(std::memory_order_relaxed))
                rd_kafka_topic_partition_list_add(list.get(), v.topic.c_str(), v.partition)->offset = off;
        }
        if (list->cnt > 0) {
            const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), 0);
            if (err) {
                std::fprintf(stderr, "sluice: synchronous commit on revoke failed: %s\n", rd_kafka_err2str(err));
                metrics_.commit.commit_failures.add();
            } else {
                metrics_.commit.commits.add();
                for (int i = 0; i < list->cnt; ++i)
                    if (!list->elems[i].err)
                        metrics_.partitions[dispatch_.partition_index(list->elems[i].topic, list->elems[i].partition)]
                            .committed_offset.store(list->elems[i].offset, std::memory_order_relaxed);
            }
        }
    }
    for (std::uint32_t idx : idxs) {
        metrics_.partitions[idx].assigned.store(false, std::memory_order_release);
        dispatch_.push_record({flow_record::kind::revoke, idx, 0, 0});
    }
    flow_.commit_waiter.notify();
}

void kafka_source::set_paused(bool pause) {
    rd_kafka_topic_partition_list_t* parts = nullptr;
    if (rd_kafka_assignment(rk_.get(), &parts) == 0 && parts) {
        if (pause) rd_kafka_pause_partitions(rk_.get(), parts);
        else rd_kafka_resume_partitions(rk_.get(), parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    paused_ = pause;
    (pause ? metrics_.source.pauses : metrics_.source.resumes).add();
}

bool kafka_source::dispatch(rd_kafka_message_t* m, std::uint32_t pidx) {
    if (!dispatch_.slot_free()) return false;
    rd_kafka_timestamp_type_t tstype;
    const std::int64_t ts_ms = rd_kafka_message_timestamp(m, &tstype);
    source_event e;
    e.payload = m->payload;
    e.len = m->len;
    e.key = m->key;
    e.key_len = m->key_len;
    e.offset = m->offset;
    e.timestamp_ns = ts_ms > 0 ? ts_ms * 1'000'000 : 0;
    trace_header trace[max_trace_headers];
    e.trace = trace;
    e.trace_count = read_trace_headers(m, cfg_.trace_headers, trace);
    dispatch_.dispatch(pidx, e);
    dispatched_.push_back(m);
    if (dispatched_.size() == poll_batch) destroy_dispatched();  // stays within the reserve
    return true;
}

void kafka_source::handle(rd_kafka_message_t* m) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            // An error of a partition may come with a reset of its position
            // (out of range after a truncated log): what follows is read
            // again, not skipped as a redelivery.
            if (m->rkt && m->partition >= 0) last_received_[partition_index(m->rkt, m->partition)] = -1;
            metrics_.source.consume_errors.add();
            if (metrics_.source.consume_errors.get() <= 20 || metrics_.source.consume_errors.get() % 1000 == 0)
                std::fprintf(stderr, "sluice: consumer: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return;
    }
    const std::uint32_t idx = partition_index(m->rkt, m->partition);
    if (redelivered(m, idx)) return;
    if (held_head_ == held_.size() && dispatch(m, idx)) return;
    held_.push_back(m);  // wait for a free slot, in order
}

// librdkafka 2.0.2 can fetch a partition again from an earlier offset after
// a pause and resume (librdkafka issues #4637, #4686, fixed in 2.4): seen
// here under CPU contention as a few hundred events processed twice with no
// rebalance. Within one assignment offsets only grow, so a message at or
// below the last one received is such a redelivery: skipped and counted.
// After an error of the partition (see handle) nothing is skipped: better a
// duplicate than a skipped event.
bool kafka_source::redelivered(rd_kafka_message_t* m, std::uint32_t idx) {
    std::int64_t& last = last_received_[idx];
    if (m->offset > last) {
        last = m->offset;
        skipping_[idx] = false;
        return false;
    }
    metrics_.source.redelivered.add();
    if (!skipping_[idx])  // once per run of redeliveries
        std::fprintf(stderr, "sluice: consumer: librdkafka delivered %s[%d] again from offset %lld; skipping up to offset %lld, received before\n",
                     rd_kafka_topic_name(m->rkt), m->partition, static_cast<long long>(m->offset),
                     static_cast<long long>(last));
    skipping_[idx] = true;
    rd_kafka_message_destroy(m);
    return true;
}

void kafka_source::wait_for_slot() {
    const std::int64_t since = mono_ns();
    dispatch_.restart_clock();
    while (held_head_ < held_.size()) {
        rd_kafka_message_t* next = held_[held_head_];
        if (dispatch(next, partition_index(next->rkt, next->partition))) {
            ++held_head_;
            continue;
        }
        dispatch_.wait_for_slot(std::chrono::microseconds(500));
        const std::int64_t now = mono_ns();
        if (!paused_ && now - since > std::int64_t(cfg_.pause_after_ms) * 1'000'000) set_paused(true);
        if (paused_ || now - since > 100'000'000) {
            // Keep serving rebalances and the poll interval while we wait;
            // with messages held, handle() queues a new one behind them.
            if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 0)) handle(m);
        }
        if (flow_.stop_source.load(std::memory_order_relaxed)) break;
    }
    metrics_.source.blocked_ns.add(static_cast<std::uint64_t>(mono_ns() - since));
    if (held_head_ == held_.size()) {
        held_.clear();
        held_head_ = 0;
    }
}

void kafka_source::run() {
    rd_kafka_message_t* batch[poll_batch];
    const thread_settings& role = cfg_.threads.at("source");
    const bool spin = role.wait == wait_kind::spin;
    // spin-then-park: this many empty polls before one that blocks, so the
    // source sleeps, and is woken (a cross-CPU interrupt), less often.
    const std::uint32_t spins = role.wait == wait_kind::spin_then_park ? role.spin : 0;
    std::uint32_t empty_polls = 0;
    const std::size_t n = flow_.pool.size();
    while (!flow_.stop_source.load(std::memory_order_relaxed)) {
        if (held_head_ < held_.size()) wait_for_slot();
        if (paused_) {
            // Resume once half the pool ahead is free again.
            if (dispatch_.slot_free() && dispatch_.slot_free_ahead(n / 2))
                set_paused(false);
            else {
                dispatch_.notify();
                flow_.source_waiter.idle([] { return false; }, std::chrono::microseconds(500));
                dispatch_.restart_clock();
                if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 0)) handle(m);
                destroy_dispatched();
                continue;
            }
        }
        // Whatever is ready, without waiting for a full batch...
        ssize_t got = rd_kafka_consume_batch_queue(queue_.get(), 0, batch, poll_batch);
        if (got <= 0) {
            dispatch_.notify();
            if (empty_polls < spins) {
                ++empty_polls;
                __builtin_ia32_pause();
                continue;
            }
            // ...then block for the next message (returns as soon as one arrives).
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), spin ? 0 : 100);
            if (m) {
                batch[0] = m;
                got = 1;
            } else {
                got = 0;
            }
        }
        dispatch_.restart_clock();  // the poll may have waited
        if (got > 0) empty_polls = 0;
        for (ssize_t i = 0; i < got; ++i) handle(batch[i]);
        // The sinks hear of it once enough has gathered, or before the poll
        // above blocks, when nothing more is queued.
        dispatch_.notify_if_many();
        destroy_dispatched();
    }
    destroy_dispatched();
    // Held but undispatched messages are simply not processed: not committed either.
    for (std::size_t i = held_head_; i < held_.size(); ++i) rd_kafka_message_destroy(held_[i]);
    held_.clear();
    held_head_ = 0;
    // Close: the revoke callback drains in-flight events and commits synchronously.
    rd_kafka_consumer_close(rk_.get());
}

}  // namespace sluice
