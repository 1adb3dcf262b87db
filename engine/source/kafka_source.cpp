// Consumer-group source: poll, decode, route, dispatch; partition lives driven from librdkafka's events.
#include "source/kafka_source.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

namespace {
constexpr std::size_t poll_batch = 256;
constexpr int offsets_timeout_ms = 10000;

std::int64_t ms_until(std::int64_t deadline_ns) {
    return std::max<std::int64_t>(0, (deadline_ns - mono_ns()) / 1'000'000);
}

// A broker query's timeout: 10 s, or what is left before the shutdown deadline.
int query_timeout_ms(const flow& f) {
    const std::int64_t deadline = f.shutdown_deadline_ns.load(std::memory_order_acquire);
    if (deadline == INT64_MAX) return offsets_timeout_ms;
    return static_cast<int>(std::clamp<std::int64_t>(ms_until(deadline), 1, offsets_timeout_ms));
}

// ListOffsets for every partition of parts at once (which: -2 earliest, -1
// latest): one request per leader instead of a round trip per partition
// inside the rebalance callback. -1 where unknown.
std::vector<std::int64_t> offsets_at(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* parts,
                                     std::int64_t which, int timeout_ms) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(parts->cnt), -1);
    partition_list q(rd_kafka_topic_partition_list_copy(parts));
    for (int i = 0; i < q->cnt; ++i) q->elems[i].offset = which;
    if (rd_kafka_offsets_for_times(rk, q.get(), timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    for (int i = 0; i < q->cnt; ++i)
        if (!q->elems[i].err && q->elems[i].offset >= 0) out[static_cast<std::size_t>(i)] = q->elems[i].offset;
    return out;
}
}  // namespace

kafka_source::kafka_source(const settings& cfg, const std::string& bootstrap, flow& f,
                           pipeline_metrics& m, type_registry& types, const event_schema& schema,
                           const routing_table& routes, dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), dispatch_(cfg, f, m, types, schema, routes, dlq) {
    kafka_config conf;
    conf.set_all(consumer_defaults(cfg.kafka_properties));
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", cfg.group_id);
    conf.set_all(cfg.kafka_properties);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &kafka_source::on_rebalance);
    rk_ = conf.make(RD_KAFKA_CONSUMER);
    {
        // The configured strategy decides the protocol (librdkafka refuses
        // to mix eager and cooperative ones); rd_kafka_rebalance_protocol()
        // says NONE until the first join.
        char strategy[256];
        std::size_t len = sizeof strategy;
        if (rd_kafka_conf_get(rd_kafka_conf(rk_.get()), "partition.assignment.strategy", strategy, &len) ==
            RD_KAFKA_CONF_OK)
            cooperative_ = std::strstr(strategy, "cooperative-sticky") != nullptr;
    }
    rd_kafka_poll_set_consumer(rk_.get());

    partition_list subs(rd_kafka_topic_partition_list_new(static_cast<int>(cfg.topics.size())));
    for (const auto& t : cfg.topics) rd_kafka_topic_partition_list_add(subs.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), subs.get());
    if (err) throw std::runtime_error(std::string("subscribe: ") + rd_kafka_err2str(err));
    held_.reserve(poll_batch * 4);
    dispatched_.reserve(poll_batch);
}

kafka_source::~kafka_source() {
    destroy_dispatched();
    for (std::size_t i = held_head_; i < held_.size(); ++i) rd_kafka_message_destroy(held_[i]);
    if (cooperative_ && !ever_assigned_) {
        // librdkafka 2.0.2 aborts destroying a cooperative-sticky consumer
        // whose group join got as far as JoinGroup but never to an
        // assignment (issue 4312, fixed in 2.3): leave it to the process's
        // exit instead. The consumer has left its group already (close).
        logf(log_level::warning, "consumer", "consumer not destroyed: it never had an assignment, and librdkafka 2.0.2 "
                             "aborts destroying such a cooperative-sticky consumer");
        (void)rk_.release();
        return;
    }
    // A close that did not finish by the deadline (a dead coordinator) is
    // not waited for again: the handle is left to the process's exit, as
    // destroying it would wait for the same group state the close waited for.
    if (!closed_) {
        logf(log_level::warning, "consumer", "consumer not destroyed: its close did not finish");
        (void)rk_.release();
    }
}

void kafka_source::destroy_dispatched() {
    for (rd_kafka_message_t* m : dispatched_) rd_kafka_message_destroy(m);
    dispatched_.clear();
}

std::uint32_t kafka_source::partition_index(rd_kafka_topic_t* rkt, std::int32_t partition) {
    return dispatch_.partitions().find(rkt, partition, [](const void* handle) {
        return std::string_view(rd_kafka_topic_name(static_cast<const rd_kafka_topic_t*>(handle)));
    });
}

void kafka_source::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<kafka_source*>(opaque);
    const std::int64_t began = mono_ns();
    self->rebalance(rk, err, parts);
    self->metrics_.source.rebalance_ns.add(static_cast<std::uint64_t>(mono_ns() - began));
}

void kafka_source::rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    metrics_.source.rebalances.add();
    dispatch_.partitions().forget_handles();  // insurance, not need: partition_table::forget_handles
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        ever_assigned_ = true;
        try {
            assign(parts);  // sets every partition's absolute start offset
        } catch (const std::exception& e) {
            // Nothing escapes into librdkafka's C callback: more partitions
            // than the table holds (partition_limit_error), a negative
            // partition number (std::invalid_argument) or no memory stops the source.
            logf(log_level::error, "partitions", "%s; stopping", e.what());
            flow_.source_failed.store(true, std::memory_order_release);
        }
        rd_kafka_error_t* e = nullptr;
        if (cooperative_) e = rd_kafka_incremental_assign(rk, parts);
        else if (const rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts))
            logf(log_level::error, "rebalance", "assign failed: %s", rd_kafka_err2str(ae));
        if (e) {
            logf(log_level::error, "rebalance", "incremental assign failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        // Paused for backpressure: new partitions wait too, or their messages
        // would pile up in the held list while no slot is free. Otherwise
        // they are resumed: librdkafka 2.0.2 keeps an application pause
        // across unassign and assign, so a partition revoked while paused
        // would come back paused and never be fetched.
        if (!paused_) {
            rd_kafka_resume_partitions(rk, parts);
        } else {
            rd_kafka_pause_partitions(rk, parts);
            for (int i = 0; i < parts->cnt; ++i) {
                const std::uint32_t idx = dispatch_.partitions().find(parts->elems[i].topic, parts->elems[i].partition);
                if (idx != UINT32_MAX) dispatch_.partitions().set_paused(idx, true);
            }
        }
    } else {
        revoke(parts, err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk));
        if (cooperative_) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, nullptr);
        }
    }
}

std::vector<kafka_source::resolved> kafka_source::resolve_starts(rd_kafka_topic_partition_list_t* parts) {
    const std::vector<std::int64_t> lows = offsets_at(rk_.get(), parts, RD_KAFKA_OFFSET_BEGINNING, query_timeout_ms(flow_));
    const std::vector<std::int64_t> ends = offsets_at(rk_.get(), parts, RD_KAFKA_OFFSET_END, query_timeout_ms(flow_));
    partition_list committed(rd_kafka_topic_partition_list_copy(parts));
    const rd_kafka_resp_err_t cerr = rd_kafka_committed(rk_.get(), committed.get(), query_timeout_ms(flow_));
    std::vector<resolved> out(static_cast<std::size_t>(parts->cnt));
    for (std::size_t k = 0; k < out.size(); ++k) out[k].end = ends[k];
    const bool earliest = cfg_.offset_reset == offset_reset_policy::earliest;
    for (int i = 0; i < parts->cnt; ++i) {
        auto& tp = parts->elems[i];
        const std::size_t k = static_cast<std::size_t>(i);
        const std::int64_t c = cerr || committed->elems[i].err ? RD_KAFKA_OFFSET_INVALID : committed->elems[i].offset;
        const std::int64_t lo = lows[k], hi = ends[k];
        if (cerr || committed->elems[i].err) {
            // The committed offset is unknown (coordinator unreachable):
            // librdkafka fetches it itself; with reset policy "error" it
            // resolves no logical offset, and a missing one comes back here.
            logf(log_level::warning, "offsets", "%s[%d]: committed offset unknown (%s); librdkafka will fetch it",
                         tp.topic, tp.partition, rd_kafka_err2str(cerr ? cerr : committed->elems[i].err));
            tp.offset = RD_KAFKA_OFFSET_STORED;
            continue;
        }
        if (lo < 0 || hi < 0) {
            // The log's ends are unknown: start at the committed offset
            // (an out-of-range one comes back as an error); without one,
            // librdkafka reports the missing offset and reset_position() runs.
            tp.offset = c >= 0 ? c : RD_KAFKA_OFFSET_STORED;
            continue;
        }
        const std::int64_t by_policy = earliest ? lo : hi;
        if (c < 0) {
            tp.offset = by_policy;  // a new group or partition: the policy says where
            continue;
        }
        out[k].committed = c;
        if (c >= lo && c <= hi) {
            tp.offset = c;
            continue;
        }
        // The committed offset is no longer in the log (retention) or
        // beyond it (truncation): a reset, counted like one found later.
        metrics_.source.offset_resets.add();
        if (by_policy > c) metrics_.source.reset_skipped.add(static_cast<std::uint64_t>(by_policy - c));
        else metrics_.source.reset_rewound.add(static_cast<std::uint64_t>(c - by_policy));
        logf(log_level::warning, "offset-reset", "%s[%d]: committed offset %lld is outside the log [%lld, %lld]; starting at %lld (%s)%s",
                     tp.topic, tp.partition, static_cast<long long>(c), static_cast<long long>(lo),
                     static_cast<long long>(hi), static_cast<long long>(by_policy), earliest ? "earliest" : "latest",
                     by_policy > c ? ": offsets in between are skipped" : ": offsets from there are read again");
        tp.offset = by_policy;
    }
    return out;
}

void kafka_source::assign(rd_kafka_topic_partition_list_t* parts) {
    const std::vector<resolved> found = resolve_starts(parts);
    for (int i = 0; i < parts->cnt; ++i) {
        const auto& tp = parts->elems[i];
        const resolved& r = found[static_cast<std::size_t>(i)];
        // The end as of now, for --until-caught-up ("everything that was there").
        const std::uint32_t idx = dispatch_.assign(tp.topic, tp.partition, tp.offset >= 0 ? tp.offset : -1, r.end);
        // This epoch's committed offset (the view keeps no other epoch's).
        metrics_.partitions[idx].committed_offset.store(r.committed, std::memory_order_relaxed);
    }
    flow_.commit_waiter.notify();
}

void kafka_source::drop_held(std::uint32_t idx) {
    // Held messages were never dispatched: whoever reads the partition next
    // reads them again from the committed offset or the new position.
    std::size_t keep = held_head_;
    for (std::size_t i = held_head_; i < held_.size(); ++i) {
        rd_kafka_message_t* m = held_[i];
        if (idx == UINT32_MAX || partition_index(m->rkt, m->partition) == idx) rd_kafka_message_destroy(m);
        else held_[keep++] = m;
    }
    held_.resize(keep);
}

void kafka_source::revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
    std::vector<std::uint32_t> idxs;
    for (int i = 0; i < parts->cnt; ++i) {
        const std::uint32_t idx = dispatch_.partitions().find(parts->elems[i].topic, parts->elems[i].partition);
        if (idx != UINT32_MAX) idxs.push_back(idx);  // not ours already (a final revoke of our own)
    }
    revoke(idxs, lost, dispatch_.drain_deadline_ns(), false);
}

void kafka_source::revoke(const std::vector<std::uint32_t>& idxs, bool lost, std::int64_t deadline_ns, bool final) {
    partition_table& table = dispatch_.partitions();
    // Revoking: no message of these partitions is taken any more.
    for (std::uint32_t idx : idxs) {
        drop_held(idx);
        table.begin_revoke(idx);
    }
    if (held_head_ == held_.size()) {
        held_.clear();
        held_head_ = 0;
    }
    // Drained: every dispatched event of these partitions finishes in all its
    // sinks (the sinks and the commit thread keep running meanwhile).
    // The drain leaves the commit a quarter of the time, up to 2 s.
    const std::int64_t left = std::max<std::int64_t>(0, deadline_ns - mono_ns());
    const std::int64_t drain_by = deadline_ns - std::min<std::int64_t>(2'000'000'000, left / 4);
    const bool drained = dispatch_.drain(idxs, drain_by);
    // Closed: the commit thread takes the revoke record, after which it asks
    // no commit of these epochs; only then is the final commit ours alone.
    for (std::uint32_t idx : idxs) dispatch_.close(idx);
    dispatch_.notify();
    flow_.commit_waiter.wake();
    // An epoch not closed by the deadline still has an asynchronous commit
    // in flight (a coordinator outage holds it): committing it synchronously
    // now could be overtaken by that older one, so it is left uncommitted.
    std::vector<std::uint32_t> closed;
    for (std::uint32_t idx : idxs) {
        while (metrics_.partitions[idx].closed_epoch.load(std::memory_order_acquire) != table.epoch(idx) &&
               mono_ns() < deadline_ns)
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (metrics_.partitions[idx].closed_epoch.load(std::memory_order_acquire) == table.epoch(idx))
            closed.push_back(idx);
    }
    bool committed = false;
    if (!lost) committed = commit_sync(closed, deadline_ns) && closed.size() == idxs.size();
    for (std::uint32_t idx : idxs) {
        partition_view& v = metrics_.partitions[idx];
        const partition_name& n = table.name(idx);
        const std::int64_t done_to = v.commit_offset.load(std::memory_order_acquire);
        const std::int64_t committed_to = v.committed_offset.load(std::memory_order_relaxed);
        const std::uint64_t exposed = v.exposure.load(std::memory_order_relaxed);
        v.revoke_exposure.store(exposed, std::memory_order_relaxed);
        // No longer ours: its exposure is the next owner's to replay; after
        // the final revoke it stays, for the stop's summary.
        if (!final) v.exposure.store(0, std::memory_order_relaxed);
        const std::uint64_t unfinished = table.next_seq(idx) - std::min(table.next_seq(idx), v.done());
        if (final && (!drained || !committed) && (done_to > committed_to || unfinished > 0)) {
            char line[512];
            std::snprintf(line, sizeof line,
                          "%s[%d]: committed %lld, done to %lld: %llu events done but not committed, %llu unfinished",
                          n.topic.c_str(), n.partition, static_cast<long long>(committed_to),
                          static_cast<long long>(done_to), static_cast<unsigned long long>(exposed),
                          static_cast<unsigned long long>(unfinished));
            unconfirmed_.emplace_back(line);
        }
        table.mark_committed(idx);
        dispatch_.release(idx);
    }
    flow_.commit_waiter.notify();
}

bool kafka_source::commit_sync(const std::vector<std::uint32_t>& idxs, std::int64_t deadline_ns) {
    partition_table& table = dispatch_.partitions();
    partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(idxs.size())));
    bool all_drained = true;
    for (std::uint32_t idx : idxs) {
        partition_view& v = metrics_.partitions[idx];
        // acquire: pairs with the commit thread's release when it closed the epoch.
        const std::int64_t off = v.commit_offset.load(std::memory_order_acquire);
        if (!done_mark_is_epoch(v.done_mark.load(std::memory_order_acquire), table.epoch(idx))) {
            all_drained = false;
            continue;
        }
        if (off >= 0 && off > v.committed_offset.load(std::memory_order_relaxed))
            rd_kafka_topic_partition_list_add(list.get(), table.name(idx).topic.c_str(), table.name(idx).partition)->offset = off;
    }
    if (list->cnt == 0) return all_drained;
    kafka_queue q(rd_kafka_queue_new(rk_.get()));
    const std::int64_t sent = mono_ns();
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk_.get(), list.get(), q.get(), nullptr, nullptr);
    bool ok = false;
    if (!err) {
        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        while (mono_ns() < deadline_ns) {
            rd_kafka_event_t* ev = rd_kafka_queue_poll(q.get(), static_cast<int>(std::min<std::int64_t>(100, ms_until(deadline_ns) + 1)));
            metrics_.source.loops.add();
            if (!ev) continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
                err = rd_kafka_event_error(ev);
                ok = !err;
                if (const rd_kafka_topic_partition_list_t* offs = rd_kafka_event_topic_partition_list(ev))
                    for (int i = 0; i < offs->cnt; ++i) {
                        const std::uint32_t idx = table.find(offs->elems[i].topic, offs->elems[i].partition);
                        if (offs->elems[i].err) {
                            ok = false;
                            if (!err) err = offs->elems[i].err;
                        } else if (idx != UINT32_MAX) {
                            metrics_.partitions[idx].committed_offset.store(offs->elems[i].offset, std::memory_order_relaxed);
                            metrics_.partitions[idx].exposure.store(0, std::memory_order_relaxed);
                        }
                    }
                rd_kafka_event_destroy(ev);
                break;
            }
            rd_kafka_event_destroy(ev);
        }
    }
    if (ok) {
        metrics_.commit.commits.add();
        metrics_.commit.round_trip.record(static_cast<std::uint64_t>(mono_ns() - sent));
    } else {
        logf(log_level::error, "commit", "synchronous commit on revoke failed: %s", rd_kafka_err2str(err));
        metrics_.commit.commit_failures.add();
    }
    return ok && all_drained;
}

void kafka_source::reset_position(const rd_kafka_message_t* m) {
    const std::uint32_t idx = partition_index(m->rkt, m->partition);
    if (idx == UINT32_MAX) return;
    partition_table& table = dispatch_.partitions();
    const partition_name& n = table.name(idx);
    std::int64_t lo = -1, hi = -1;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk_.get(), n.topic.c_str(), n.partition, &lo, &hi, query_timeout_ms(flow_));
    const bool earliest = cfg_.offset_reset == offset_reset_policy::earliest;
    if (err || lo < 0 || hi < 0) {
        // Try again at the next error report: librdkafka stops fetching the
        // partition until it is told where to go, so nothing is skipped.
        logf(log_level::warning, "offset-reset", "%s[%d]: offset out of range and the log's ends unknown (%s); retrying",
                     n.topic.c_str(), n.partition, rd_kafka_err2str(err));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        restart_at(idx, m->offset >= 0 ? m->offset : table.start(idx) >= 0 ? table.start(idx) : RD_KAFKA_OFFSET_STORED);
        return;
    }
    const std::int64_t to = earliest ? lo : hi;
    const std::int64_t from = m->offset >= 0 ? m->offset : table.start(idx);
    if (from < 0) {
        // No position yet (no committed offset on librdkafka's own lookup):
        // the policy's start, not a reset.
        logf(log_level::info, "offsets", "%s[%d]: no committed offset; starting at %lld (%s)", n.topic.c_str(),
             n.partition, static_cast<long long>(to), earliest ? "earliest" : "latest");
        drop_held(idx);
        dispatch_.reset(idx, to);
        restart_at(idx, to);
        return;
    }
    metrics_.source.offset_resets.add();
    if (from >= 0 && to > from) metrics_.source.reset_skipped.add(static_cast<std::uint64_t>(to - from));
    if (from >= 0 && to < from) metrics_.source.reset_rewound.add(static_cast<std::uint64_t>(from - to));
    logf(log_level::warning, "offset-reset", "%s[%d]: offset %lld is outside the log [%lld, %lld]; moving to %lld (%s)%s",
                 n.topic.c_str(), n.partition, static_cast<long long>(from), static_cast<long long>(lo),
                 static_cast<long long>(hi), static_cast<long long>(to), earliest ? "earliest" : "latest",
                 to > from ? ": offsets in between are skipped" : ": offsets from there are read again");
    drop_held(idx);
    // A new epoch: the watermark of the old one ends here (offsets must grow within one).
    dispatch_.reset(idx, to);
    restart_at(idx, to);
}

void kafka_source::restart_at(std::uint32_t idx, std::int64_t to) {
    // After an error of reset policy "error" librdkafka 2.0.2 has stopped
    // fetching the partition (fetch state NONE), and a seek is refused in
    // that state: only an assignment starts it again.
    partition_table& table = dispatch_.partitions();
    const partition_name& n = table.name(idx);
    rd_kafka_error_t* e = nullptr;
    if (cooperative_) {
        partition_list one(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(one.get(), n.topic.c_str(), n.partition)->offset = to;
        e = rd_kafka_incremental_unassign(rk_.get(), one.get());
        if (!e) e = rd_kafka_incremental_assign(rk_.get(), one.get());
    } else {
        // Eager: the whole assignment again, every other partition from its
        // position (the offset after the last message returned to sluice,
        // held ones included), or its absolute start if none was returned.
        rd_kafka_topic_partition_list_t* raw = nullptr;
        if (rd_kafka_assignment(rk_.get(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR && raw) {
            partition_list all(raw);
            rd_kafka_position(rk_.get(), all.get());
            for (int i = 0; i < all->cnt; ++i) {
                auto& tp = all->elems[i];
                const std::uint32_t other = table.find(tp.topic, tp.partition);
                if (other == idx) tp.offset = to;
                else if (tp.offset < 0) tp.offset = other != UINT32_MAX && table.start(other) >= 0 ? table.start(other)
                                                                                                   : RD_KAFKA_OFFSET_STORED;
            }
            if (const rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), all.get()))
                e = rd_kafka_error_new(err, "%s", rd_kafka_err2str(err));
            // Keep sluice's pauses as they are (librdkafka keeps an application
            // pause across assignments; pausing again changes nothing then).
            partition_list paused(rd_kafka_topic_partition_list_new(4));
            for (std::uint32_t i : table.assigned_indexes())
                if (table.paused(i))
                    rd_kafka_topic_partition_list_add(paused.get(), table.name(i).topic.c_str(), table.name(i).partition);
            if (paused->cnt > 0) rd_kafka_pause_partitions(rk_.get(), paused.get());
        }
    }
    if (e) {
        logf(log_level::error, "offset-reset", "%s[%d]: restart at %lld failed: %s", n.topic.c_str(), n.partition,
                     static_cast<long long>(to), rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    dispatch_.partitions().forget_handles();  // insurance, not need: partition_table::forget_handles
}

void kafka_source::set_paused(bool pause) {
    partition_table& table = dispatch_.partitions();
    partition_list list(rd_kafka_topic_partition_list_new(16));
    for (std::uint32_t idx : table.assigned_indexes()) {
        // Resume exactly what sluice paused; pause what is fetching.
        if (table.state(idx) != (pause ? partition_state::fetching : partition_state::paused)) continue;
        rd_kafka_topic_partition_list_add(list.get(), table.name(idx).topic.c_str(), table.name(idx).partition);
        table.set_paused(idx, pause);
    }
    if (list->cnt > 0) {
        if (pause) rd_kafka_pause_partitions(rk_.get(), list.get());
        else rd_kafka_resume_partitions(rk_.get(), list.get());
    }
    paused_ = pause;
    (pause ? metrics_.source.pauses : metrics_.source.resumes).add();
}

bool kafka_source::dispatch(rd_kafka_message_t* m, std::uint32_t idx) {
    if (!dispatch_.ready()) return false;
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
    dispatch_.dispatch(idx, e);
    dispatched_.push_back(m);
    if (dispatched_.size() == poll_batch) destroy_dispatched();  // stays within the reserve
    return true;
}

void kafka_source::handle(rd_kafka_message_t* m) {
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && m->rkt && m->partition >= 0) {
            reset_position(m);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            // An error of a partition may come with a move of its position:
            // what follows is taken even at offsets received before.
            if (m->rkt && m->partition >= 0) {
                const std::uint32_t idx = partition_index(m->rkt, m->partition);
                if (idx != UINT32_MAX) dispatch_.partitions().forget_received(idx);
            }
            metrics_.source.consume_errors.add();
            if (metrics_.source.consume_errors.get() <= 20 || metrics_.source.consume_errors.get() % 1000 == 0)
                logf(log_level::warning, "consumer", "consumer: %s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return;
    }
    const std::uint32_t idx = partition_index(m->rkt, m->partition);
    // Only messages of a partition assigned in this epoch, at or above its
    // start, not received before (partition_table::admit).
    if (idx == UINT32_MAX) {
        metrics_.source.stale_dropped.add();
        rd_kafka_message_destroy(m);
        return;
    }
    if (dispatch_.partitions().admit(idx, m->offset) != partition_table::verdict::take) {
        rd_kafka_message_destroy(m);
        return;
    }
    if (held_head_ == held_.size() && dispatch(m, idx)) return;
    held_.push_back(m);  // wait for room, in order
}

void kafka_source::wait_for_room() {
    const std::int64_t began = mono_ns();
    // A stall is measured from the last progress, not from the start of the
    // held batch: sinks that keep freeing slots are slow, not stuck, and a
    // pause drops librdkafka's prefetched messages (2.0.2 purges the fetch
    // queue), so pausing every round under steady backpressure refetches the
    // same head of the queue each time and starves partitions whose fetches
    // arrive later. Set when the first dispatch after a successful one fails.
    std::int64_t stalled_since = began;
    bool dispatched = false;
    // Confirmations count as progress too: when the outputs, not the sinks,
    // are the limit, the next event waits for the oldest one's delivery.
    std::uint64_t released = flow_.released_events();
    // The last poll while waiting: one every 100 ms keeps the group's poll
    // interval and rebalances served without filling the held list (sinks
    // that free a slot within pause.after.ms drain faster than that).
    std::int64_t polled = began;
    dispatch_.restart_clock();
    while (held_head_ < held_.size()) {
        rd_kafka_message_t* next = held_[held_head_];
        // Held messages of a partition revoked or reset meanwhile were dropped
        // then; one whose partition is not assigned now is dropped here.
        const std::uint32_t idx = partition_index(next->rkt, next->partition);
        if (idx == UINT32_MAX) {
            metrics_.source.stale_dropped.add();
            rd_kafka_message_destroy(next);
            ++held_head_;
            continue;
        }
        if (dispatch(next, idx)) {
            ++held_head_;
            dispatched = true;
            continue;
        }
        if (dispatched) {
            stalled_since = mono_ns();
            dispatched = false;
        }
        dispatch_.wait_for_room(std::chrono::microseconds(500));
        if (const std::uint64_t r = flow_.released_events(); r != released) {
            released = r;
            stalled_since = mono_ns();
        }
        metrics_.source.loops.add();  // waiting for room is looping, not stuck
        const std::int64_t now = mono_ns();
        if (!paused_ && now - stalled_since > std::int64_t(cfg_.pause_after_ms) * 1'000'000) set_paused(true);
        if (paused_ || now - polled > 100'000'000) {
            // Keep serving rebalances and the poll interval while we wait;
            // with messages held, handle() queues a new one behind them.
            polled = now;
            if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 0)) handle(m);
        }
        if (flow_.stop_source.load(std::memory_order_relaxed)) break;
    }
    metrics_.source.blocked_ns.add(static_cast<std::uint64_t>(mono_ns() - began));
    if (held_head_ == held_.size()) {
        held_.clear();
        held_head_ = 0;
    }
}

void kafka_source::close_consumer() {
    // Asynchronous close, served here until it finishes or the deadline
    // passes (a dead coordinator would hold a synchronous close for minutes).
    // The revoke it may bring finds nothing left of ours: see run().
    kafka_queue q(rd_kafka_queue_new(rk_.get()));
    if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_.get(), q.get())) {
        logf(log_level::warning, "consumer", "consumer close: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return;
    }
    const std::int64_t deadline = flow_.shutdown_deadline_ns.load(std::memory_order_acquire);
    while (!rd_kafka_consumer_closed(rk_.get())) {
        if (mono_ns() >= deadline) {
            logf(log_level::warning, "consumer", "consumer close not finished by the shutdown deadline; leaving the group to time out");
            return;
        }
        rd_kafka_event_t* ev = rd_kafka_queue_poll(q.get(), 100);
        metrics_.source.loops.add();
        if (!ev) continue;
        // The close's revoke arrives as an event on this queue, not as a
        // callback; it waits for our unassign like any other.
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
            rd_kafka_topic_partition_list_t* parts = rd_kafka_event_topic_partition_list(ev);
            if (rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                // Closing: nothing new is taken (librdkafka would turn the
                // assign into an unassign anyway).
                if (cooperative_) {
                    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_.get(), parts)) rd_kafka_error_destroy(e);
                } else {
                    rd_kafka_assign(rk_.get(), nullptr);
                }
            } else {
                on_rebalance(rk_.get(), rd_kafka_event_error(ev), parts, this);
            }
        }
        rd_kafka_event_destroy(ev);
    }
    closed_ = true;
}

void kafka_source::run() {
    const thread_settings& role = cfg_.threads.at("source");
    const bool spin = role.wait == wait_kind::spin;
    // spin-then-park: this many empty polls before one that blocks, so the
    // source sleeps, and is woken (a cross-CPU interrupt), less often.
    const std::uint32_t spins = role.wait == wait_kind::spin_then_park ? role.spin : 0;
    std::uint32_t empty_polls = 0;
    while (!flow_.stop_source.load(std::memory_order_relaxed) && !flow_.source_failed.load(std::memory_order_relaxed)) {
        dispatch_.begin_round();
        if (held_head_ < held_.size()) wait_for_room();
        if (paused_) {
            // Resume once half the slots and half the bounds are free again.
            if (dispatch_.room_ahead())
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
        // Whatever is ready, one message per poll (each handled before the
        // next poll, which may run a rebalance callback), without waiting.
        // Messages that find no free slot are held in order (at most a
        // batch per round): what librdkafka fetched is kept across the pause
        // that follows, not dropped by it and fetched again...
        std::size_t got = 0;
        while (got < poll_batch) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 0);
            if (!m) break;
            ++got;
            handle(m);
        }
        if (got == 0) {
            dispatch_.notify();
            if (empty_polls < spins) {
                ++empty_polls;
                cpu_relax();
                continue;
            }
            // ...then block for the next message (returns as soon as one arrives).
            const int block_ms = spin ? 0 : static_cast<int>(dispatch_.max_block().count() / 1000);
            if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), block_ms)) {
                dispatch_.restart_clock();  // the poll waited
                ++got;
                handle(m);
            }
        }
        if (got > 0) empty_polls = 0;
        // The sinks hear of it once enough has gathered, or before the poll
        // above blocks, when nothing more is queued.
        dispatch_.notify_if_many();
        destroy_dispatched();
    }
    destroy_dispatched();
    // Held but undispatched messages are simply not processed: not committed either.
    drop_held(UINT32_MAX);
    held_.clear();
    held_head_ = 0;
    // The final revoke is ours, before the close: drain, stop the commit
    // thread's commits, commit synchronously, all by the shutdown deadline;
    // what it could not cover is reported (unconfirmed()).
    revoke(dispatch_.partitions().assigned_indexes(), false, dispatch_.drain_deadline_ns(), true);
    close_consumer();
}

}  // namespace sluice
