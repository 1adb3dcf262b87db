// Slot filling, decode, routing and the dispatch records shared by every source.
#include "pipeline/dispatcher.hpp"

#include <cstdio>
#include <stdexcept>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "sink/inline_sinks.hpp"

namespace sluice {

dispatcher::dispatcher(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types,
                       const event_schema& schema, const routing_table& routes, dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), routes_(routes), dlq_(dlq), decoder_(schema, types, cfg.max_payload_bytes),
      table_(m, f.in_flight), inline_(f.sinks_inline) {}

std::chrono::microseconds dispatcher::max_block() const noexcept {
    return inline_ ? inline_->max_block() : std::chrono::microseconds(100'000);
}

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

std::int64_t dispatcher::drain_deadline_ns() const noexcept {
    return std::min(flow_.shutdown_deadline_ns.load(std::memory_order_acquire),
                    mono_ns() + std::int64_t(cfg_.revoke_drain_timeout_ms) * 1'000'000);
}

bool dispatcher::drain(const std::vector<std::uint32_t>& idxs, std::int64_t deadline_ns) {
    notify();
    flow_.commit_waiter.notify();
    bool all = true;
    for (std::uint32_t idx : idxs) {
        while (!table_.drained(idx)) {
            metrics_.source.loops.add();  // draining is looping, not stuck
            if (mono_ns() > deadline_ns) break;
            flow_.commit_waiter.notify();
            // Inline sinks finish their events only when served.
            if (inline_ && inline_->serve()) continue;
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
    if (!flow_.to_commit.push(r, flow_.commit_waiter)) restart_clock();  // it waited: not the next event's time
    ++pending_notify_;
}

void dispatcher::notify() {
    if (inline_) {
        inline_->serve();
        restart_clock();  // the sinks' polls are not the next event's time
    }
    if (!pending_notify_) return;
    if (!inline_)  // inline, no sink thread waits
        for (auto& w : flow_.sink_waiters) w->notify();
    // The commit thread parks for a few ms at most and commits in batches:
    // waking it per batch would only buy context switches (as for acks).
    if (flow_.to_commit.size_approx() * 2 > flow_.to_commit.capacity()) flow_.commit_waiter.notify();
    pending_notify_ = 0;
    restart_clock();  // a wake-up's futex calls are not the next event's time
}

bool dispatcher::ready() noexcept {
    // acquire: pairs with the releasing threads' acq_rel decrements.
    if (flow_.pool[next_slot_ % flow_.pool.size()].pending.load(std::memory_order_acquire) != 0) return false;
    if (flow_.in_flight[next_event_ % flow_.in_flight.size()].pending.load(std::memory_order_acquire) != 0) return false;
    if (bytes_over_ || ++bytes_check_ >= 32) {
        bytes_check_ = 0;
        bytes_over_ = flow_.in_flight_bytes() >= cfg_.unconfirmed_max_bytes;
    }
    return !bytes_over_;
}

bool dispatcher::room_ahead() noexcept {
    const std::size_t slots = flow_.pool.size(), events = flow_.in_flight.size();
    return ready() &&
           flow_.pool[(next_slot_ + slots / 2) % slots].pending.load(std::memory_order_acquire) == 0 &&
           flow_.in_flight[(next_event_ + events / 2) % events].pending.load(std::memory_order_acquire) == 0 &&
           flow_.in_flight_bytes() < cfg_.unconfirmed_max_bytes / 2;
}

void dispatcher::wait_for_room(std::chrono::microseconds park_for) {
    notify();  // serves inline sinks: their confirmations free room
    restart_clock();
    if (inline_) {
        if (ready()) return;
        // Delivery reports reach inline sinks only through their polls.
        park_for = std::min(park_for, inline_->max_block());
    }
    if (flow_.pool[next_slot_ % flow_.pool.size()].pending.load(std::memory_order_acquire) != 0)
        metrics_.source.waits_for_slot.add();
    else
        metrics_.source.waits_for_delivery.add();
    flow_.source_waiter.idle([&] { return ready(); }, park_for);
}

void dispatcher::dispatch(std::uint32_t pidx, const source_event& e) {
    const std::uint32_t slot_index = static_cast<std::uint32_t>(next_slot_ % flow_.pool.size());
    const std::uint32_t event_index = static_cast<std::uint32_t>(next_event_ % flow_.in_flight.size());
    event_slot& slot = flow_.pool[slot_index];
    in_flight_event& rec = flow_.in_flight[event_index];
    const std::int64_t t0 = clock_ns_ ? clock_ns_ : mono_ns();
    if (first_event_ns_.load(std::memory_order_relaxed) == 0) first_event_ns_.store(t0, std::memory_order_relaxed);
    const bool tombstone = e.payload == nullptr;
    rec.assign(e.payload, tombstone ? 0 : e.len, e.key, e.key ? e.key_len : 0, e.trace, e.trace_count);
    rec.partition = pidx;
    rec.seq = table_.next_seq(pidx)++;
    rec.epoch = table_.epoch(pidx);
    rec.offset = e.offset;
    rec.consumed_ns = t0;
    rec.kafka_ts_ns = e.timestamp_ns;
    slot.original = &rec;
    slot.event_index = event_index;
    slot.partition = pidx;
    slot.offset = e.offset;
    slot.ev.correlation_id = {};  // the decoder sets it; oversize events have none
    partition_view& view = metrics_.partitions[pidx];
    const std::size_t size = std::max(e.len, e.original_len);
    metrics_.source.consumed.add();
    metrics_.source.bytes.add(size);
    view.consumed.store(view.consumed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    view.dispatched.store(rec.seq + 1, std::memory_order_relaxed);

    decode_result r;
    if (!tombstone && size > cfg_.max_payload_bytes) {
        r.status = decode_status::oversize;
        r.size = size;
        r.limit = cfg_.max_payload_bytes;
    } else {
        r = decoder_.decode(slot, tombstone);
    }
    rec.correlation_id = slot.ev.correlation_id;
    const std::int64_t t1 = mono_ns();
    clock_ns_ = t1;
    metrics_.source.decode.record(static_cast<std::uint64_t>(t1 - t0));
    // Single writer: published for the sums of in_flight_events()/bytes().
    auto take = [&] {
        flow_.taken.events.store(flow_.taken.events.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        flow_.taken.bytes.store(flow_.taken.bytes.load(std::memory_order_relaxed) + rec.held_bytes,
                                std::memory_order_release);
        ++next_event_;
    };
    if (!r) {
        // The original bytes go to the dead-letter topic; the offset advances
        // once the broker confirmed that write. No sink reads the slot.
        // The record before the send (the commit order, commit_records).
        push_record({flow_record::kind::dispatch, pidx, rec.seq, rec.offset, rec.epoch});
        rec.pending.store(1, std::memory_order_relaxed);
        take();
        metrics_.source.dead_lettered.add();
        const partition_name& name = table_.name(pidx);
        dlq_.send(rec, name.topic, name.partition, r.describe(), 1);
        restart_clock();  // not the next event's time
        return;
    }
    metrics_.source.decoded.add();
    const sink_mask mask = routes_.route(slot.ev.type);
    slot.routed = mask;
    const std::uint32_t shares = static_cast<std::uint32_t>(__builtin_popcount(mask));
    if (shares == 0) {
        // Routed nowhere: dispatched and done in one record; the slot and
        // the in-flight entry are free again at once.
        push_record({flow_record::kind::done_now, pidx, rec.seq, rec.offset, rec.epoch});
        return;
    }
    // The record before any sink can see the event (the commit order, commit_records).
    push_record({flow_record::kind::dispatch, pidx, rec.seq, rec.offset, rec.epoch});
    rec.pending.store(shares, std::memory_order_relaxed);
    slot.pending.store(shares, std::memory_order_relaxed);
    slot.dispatched_ns = t1;
    take();
    ++next_slot_;
    if (inline_) {
        clock_ns_ = inline_->process(slot, slot_index, mask, t1);
        return;
    }
    for (std::size_t s = 0; s < flow_.sink_rings.size(); ++s) {
        if (!(mask & (1u << s))) continue;
        // Cannot fail: a ring holds as many indexes as there are slots.
        [[maybe_unused]] const bool ok = flow_.sink_rings[s]->try_push(slot_index);
    }
}

}  // namespace sluice
