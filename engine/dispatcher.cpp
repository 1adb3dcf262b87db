// Slot filling, decode, routing and the dispatch records shared by every source.
#include "dispatcher.hpp"
#include "log.hpp"

#include <cstdio>
#include <stdexcept>
#include <thread>

#include "clock.hpp"

namespace sluice {

dispatcher::dispatcher(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types,
                       const routing_table& routes, dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), routes_(routes), dlq_(dlq), decoder_(types, cfg.max_payload_bytes),
      table_(m, f.pool) {}

std::uint32_t dispatcher::assign(std::string_view topic, std::int32_t partition, std::int64_t start,
                                 std::int64_t end) {
    const std::uint32_t idx = table_.assign(topic, partition, start, end);
    push_record({flow_record::kind::assign, idx, table_.epoch(idx), 0});
    metrics_.source.assigned_partitions.add();
    return idx;
}

void dispatcher::reset(std::uint32_t idx, std::int64_t start) {
    table_.reset(idx, start);
    push_record({flow_record::kind::assign, idx, table_.epoch(idx), 0});
    flow_.commit_waiter.notify();
}

void dispatcher::close(std::uint32_t idx) {
    push_record({flow_record::kind::revoke, idx, table_.epoch(idx), 0});
}

void dispatcher::release(std::uint32_t idx) { table_.release(idx); }

bool dispatcher::drain(const std::vector<std::uint32_t>& idxs, std::int64_t deadline_ns) {
    notify();
    flow_.commit_waiter.notify();
    bool all = true;
    for (std::uint32_t idx : idxs) {
        while (!table_.drained(idx)) {
            metrics_.source.loops.add();  // draining is looping, not stuck
            if (mono_ns() > deadline_ns) break;
            flow_.commit_waiter.notify();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (table_.drained(idx)) {
            table_.mark_drained(idx);
            continue;
        }
        all = false;
        const partition_view& v = metrics_.partitions[idx];
        const partition_name& n = table_.name(idx);
        logf(log_level::warning, "drain", "%s[%d]: %llu events still in flight at the drain deadline; committing what is done",
                     n.topic.c_str(), n.partition,
                     static_cast<unsigned long long>(table_.next_seq(idx) - std::min(table_.next_seq(idx), v.done())));
    }
    restart_clock();
    return all;
}

void dispatcher::push_record(const flow_record& r) {
    while (!flow_.to_commit.try_push(r)) {
        flow_.commit_waiter.wake();
        std::this_thread::yield();
        restart_clock();
    }
    ++pending_notify_;
}

void dispatcher::notify() {
    if (!pending_notify_) return;
    for (auto& w : flow_.sink_waiters) w->notify();
    // The commit thread parks for a few ms at most and commits in batches:
    // waking it per batch would only buy context switches (as for acks).
    if (flow_.to_commit.size_approx() * 2 > flow_.to_commit.capacity()) flow_.commit_waiter.notify();
    pending_notify_ = 0;
    restart_clock();  // a wake-up's futex calls are not the next event's time
}

void dispatcher::wait_for_slot(std::chrono::microseconds park_for) {
    notify();
    restart_clock();
    event_slot& slot = flow_.pool[next_slot_ % flow_.pool.size()];
    flow_.source_waiter.idle([&] { return slot.pending.load(std::memory_order_acquire) == 0; }, park_for);
}

void dispatcher::dispatch(std::uint32_t pidx, const source_event& e) {
    const std::uint32_t slot_index = static_cast<std::uint32_t>(next_slot_ % flow_.pool.size());
    event_slot& slot = flow_.pool[slot_index];
    const std::int64_t t0 = clock_ns_ ? clock_ns_ : mono_ns();
    if (first_event_ns_.load(std::memory_order_relaxed) == 0) first_event_ns_.store(t0, std::memory_order_relaxed);
    const bool tombstone = e.payload == nullptr;
    slot.assign(e.payload, tombstone ? 0 : e.len, e.key, e.key ? e.key_len : 0, e.trace, e.trace_count);
    slot.partition = pidx;
    slot.seq = table_.next_seq(pidx)++;
    partition_view& view = metrics_.partitions[pidx];
    slot.epoch = table_.epoch(pidx);
    slot.offset = e.offset;
    slot.consumed_ns = t0;
    slot.kafka_ts_ns = e.timestamp_ns;
    const std::size_t size = std::max(e.len, e.original_len);
    metrics_.source.consumed.add();
    metrics_.source.bytes.add(size);
    view.consumed.store(view.consumed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    view.dispatched.store(slot.seq + 1, std::memory_order_relaxed);

    decode_result r;
    if (!tombstone && size > cfg_.max_payload_bytes) {
        r.status = decode_status::oversize;
        r.size = size;
        r.limit = cfg_.max_payload_bytes;
    } else {
        r = decoder_.decode(slot, tombstone);
    }
    const std::int64_t t1 = mono_ns();
    clock_ns_ = t1;
    metrics_.source.decode.record(static_cast<std::uint64_t>(t1 - t0));
    if (!r) {
        // The original bytes go to the dead-letter topic; the offset advances
        // once the broker confirmed that write.
        push_record({flow_record::kind::dispatch, pidx, slot.seq, slot.offset, slot.epoch});
        slot.routed = 0;
        slot.pending.store(1, std::memory_order_relaxed);
        metrics_.source.dead_lettered.add();
        const partition_name& name = table_.name(pidx);
        dlq_.send(slot, name.topic, name.partition, r.describe(), 1);
        restart_clock();  // not the next event's time
    } else {
        metrics_.source.decoded.add();
        const sink_mask mask = routes_.route(slot.ev.type);
        slot.routed = mask;
        const std::uint32_t shares = static_cast<std::uint32_t>(__builtin_popcount(mask));
        if (shares == 0) {
            // Routed nowhere: dispatched and done in one record.
            push_record({flow_record::kind::done_now, pidx, slot.seq, slot.offset, slot.epoch});
        } else {
            // Before any sink can see it: the commit thread reads this record
            // before the ack that will follow.
            push_record({flow_record::kind::dispatch, pidx, slot.seq, slot.offset, slot.epoch});
            slot.pending.store(shares, std::memory_order_relaxed);
            slot.dispatched_ns = t1;
            for (std::size_t s = 0; s < flow_.sink_rings.size(); ++s) {
                if (!(mask & (1u << s))) continue;
                // Cannot fail: a ring holds as many indexes as there are slots.
                [[maybe_unused]] const bool ok = flow_.sink_rings[s]->try_push(slot_index);
            }
        }
    }
    ++next_slot_;
}

}  // namespace sluice
