// Replay: lines of a file through the same dispatch as Kafka messages.
#include "replay_source.hpp"
#include "log.hpp"

#include <cstdio>
#include <system_error>
#include <thread>

#include "clock.hpp"

namespace sluice {

replay_source::replay_source(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types,
                             const routing_table& routes, dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), reader_(cfg.replay_file, cfg.max_payload_bytes),
      dispatch_(cfg, f, m, types, routes, dlq), partition_(dispatch_.partition_index(topic, 0)) {}

void replay_source::run() {
    partition_view& v = metrics_.partitions[partition_];
    v.assign_epoch.store(1, std::memory_order_relaxed);
    v.start_offset.store(1, std::memory_order_relaxed);
    v.assigned.store(true, std::memory_order_release);
    dispatch_.push_record({flow_record::kind::assign, partition_, 1, 0});
    metrics_.source.assigned_partitions.add();
    try {
        read_all();
    } catch (const std::system_error& e) {
        logf(log_level::error, "replay", "replay stopped: %s", e.what());
        flow_.source_failed.store(true, std::memory_order_release);
    }
    dispatch_.notify();
    // At the end, like a consumer at the end of its partitions: wait to be stopped.
    while (!flow_.stop_source.load(std::memory_order_acquire))
        flow_.source_waiter.idle([&] { return flow_.stop_source.load(std::memory_order_relaxed); },
                                 std::chrono::milliseconds(50));
    drain();
}

void replay_source::read_all() {
    partition_view& v = metrics_.partitions[partition_];
    std::int64_t line_no = 1;
    std::uint32_t unannounced = 0;
    std::string_view line;
    std::size_t full_len = 0;
    std::uint64_t waits = reader_.waits();
    while (!flow_.stop_source.load(std::memory_order_relaxed)) {
        metrics_.source.loops.add();
        dispatch_.routes().apply_pending();  // a reloaded routing, between events
        const line_reader::status st = reader_.next(line, full_len);
        if (reader_.waits() != waits) {
            waits = reader_.waits();
            dispatch_.restart_clock();  // not the next line's time
        }
        if (st == line_reader::status::again) {
            dispatch_.notify();
            continue;
        }
        if (st == line_reader::status::end) {
            // Everything there was: --until-caught-up can finish.
            v.high_watermark.store(line_no, std::memory_order_relaxed);
            v.end_at_assign.store(line_no, std::memory_order_release);
            return;
        }
        while (!dispatch_.slot_free()) {
            dispatch_.wait_for_slot(std::chrono::microseconds(500));
            unannounced = 0;
            if (flow_.stop_source.load(std::memory_order_relaxed)) return;
        }
        source_event e;
        e.payload = line.data();  // an empty line is an empty payload, not a tombstone
        e.len = line.size();
        e.offset = line_no++;
        e.original_len = full_len;
        dispatch_.dispatch(partition_, e);
        v.high_watermark.store(line_no, std::memory_order_relaxed);
        // Wake the sinks at most once per batch, as the Kafka source does per
        // poll (of up to 256): per 64 lines, each parking sink was woken four
        // times as often and the futex calls halved the replay rate.
        if (++unannounced == 256) {
            dispatch_.notify_if_many();
            unannounced = 0;
        }
    }
}

void replay_source::drain() {
    partition_view& v = metrics_.partitions[partition_];
    dispatch_.notify();
    flow_.commit_waiter.notify();
    const std::int64_t deadline = mono_ns() + std::int64_t(cfg_.revoke_drain_timeout_ms) * 1'000'000;
    while (v.done.load(std::memory_order_acquire) != dispatch_.next_seq(partition_)) {
        if (mono_ns() > deadline) {
            logf(log_level::warning, "replay", "%llu events still in flight after %u ms; committing what is done",
                         static_cast<unsigned long long>(dispatch_.next_seq(partition_) - v.done.load()),
                         cfg_.revoke_drain_timeout_ms);
            return;
        }
        flow_.commit_waiter.notify();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

}  // namespace sluice
