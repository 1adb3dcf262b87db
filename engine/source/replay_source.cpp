// Replay: lines of a file through the same dispatch as Kafka messages.
#include "source/replay_source.hpp"

#include <cstdio>
#include <system_error>
#include <thread>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice {

replay_source::replay_source(const settings& cfg, flow& f, pipeline_metrics& m, type_registry& types,
                             const event_schema& schema, const routing_table& routes, dead_letter_producer& dlq)
    : cfg_(cfg), flow_(f), metrics_(m), reader_(cfg.replay_file, cfg.max_payload_bytes),
      dispatch_(cfg, f, m, types, schema, routes, dlq) {}

void replay_source::run() {
    // One partition for the whole file; its life ends with the process (the
    // commit thread's final local commit covers it, so it is never closed).
    partition_ = dispatch_.assign(topic, 0, 1, -1);
    try {
        read_all();
    } catch (const std::system_error& e) {
        logf(log_level::error, "replay", "replay stopped: %s", e.what());
        flow_.source_failed.store(true, std::memory_order_release);
    }
    dispatch_.notify();
    // At the end, like a consumer at the end of its partitions: wait to be stopped.
    while (!flow_.stop_source.load(std::memory_order_acquire)) {
        dispatch_.notify();  // inline sinks: their deliveries and timers
        flow_.source_waiter.idle([&] { return flow_.stop_source.load(std::memory_order_relaxed); },
                                 std::min<std::chrono::microseconds>(std::chrono::milliseconds(50), dispatch_.max_block()));
    }
    // Drain what is in flight so the final commit covers it.
    if (!dispatch_.drain({partition_}, dispatch_.drain_deadline_ns()))
        unconfirmed_.push_back(std::string(topic) + "[0]: events unfinished at the drain deadline");
}

void replay_source::read_all() {
    partition_view& v = metrics_.partitions[partition_];
    std::int64_t line_no = 1;
    std::uint32_t unannounced = 0;
    std::string_view line;
    std::size_t full_len = 0;
    std::uint64_t waits = reader_.waits();
    while (!flow_.stop_source.load(std::memory_order_relaxed)) {
        dispatch_.begin_round();
        const line_reader::status st = reader_.next(line, full_len);
        if (reader_.waits() != waits) {
            waits = reader_.waits();
            // A batch ends where the input made the reader wait (a pipe can
            // trickle lines for ever): inline sinks are served here, at most
            // the reader's 100 ms wait after the line that preceded it.
            dispatch_.notify();  // restarts the clock: the wait is not the next line's time
            unannounced = 0;
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
        while (!dispatch_.ready()) {
            dispatch_.wait_for_room(std::chrono::microseconds(500));
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
        // poll (of up to 256): each wake-up of a parked sink costs futex calls
        // on both sides (perf/README.md).
        if (++unannounced == 256) {
            dispatch_.notify_if_many();
            unannounced = 0;
        }
    }
}

}  // namespace sluice
