// Per-event bookkeeping of a sink's output records: retries, then dead letter.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "base/backoff.hpp"
#include "pipeline/flow.hpp"
#include "sink/output.hpp"
#include "sink/sink.hpp"

namespace sluice {

// Design: owned by the thread that runs its sink. A sink calls begin(slot), emit() zero or
// more records, then end(slot). The event is finished (ctx.done) when every
// record is durable, or dead-lettered when one exhausted its attempts, with
// exponential backoff between attempts (sinks.retry.*, read from flow.live at
// each retry, so a reload applies). Records not tied to an event (window
// rollups) use emit_unbound() and are retried the same way, then counted lost.
class delivery_tracker final : public delivery_handler {
public:
    delivery_tracker(flow& f, sink_context& ctx, const output_spec& spec, const std::string& bootstrap,
                     const std::map<std::string, std::string>& producer_props,
                     std::string sink_name);

    void begin(const event_slot& slot) noexcept { current_ = slot.event_index; emitted_ = 0; }
    void emit(std::string_view key, std::string_view record);
    void end(event_slot& slot);
    void emit_unbound(std::string_view key, std::string_view record);

    void flush() { out_->flush(); }
    // Output is `none`: records would be thrown away, so sinks need not build them.
    bool discards() const noexcept { return discards_; }
    bool poll(std::int64_t now_ns);
    bool idle() const noexcept { return outstanding_total_ == 0 && queues_.empty() && out_->in_flight() == 0; }
    // Records waiting in per-key resend queues (stats, tests).
    std::size_t waiting() const noexcept { return waiting_; }
    std::uint64_t unbound_lost() const noexcept { return unbound_lost_; }
    std::string describe() const { return out_->describe(); }

    void delivered(std::uint64_t token, std::string_view key, std::string_view record,
                   const char* error) noexcept override;
    void rebuilt(const char*) noexcept override { ctx_.metrics.output_rebuilds.add(); }

private:
    struct per_event {
        std::uint16_t outstanding = 0;
        std::uint16_t max_attempts_seen = 0;
        std::uint16_t heads = 0;  // its records resent as queue heads, in flight now
        bool ended = true;
        bool failed = false;
        const char* error = nullptr;
        std::int64_t first_attempt_ns = 0;  // monotonic: the event's first record was written
        std::int64_t last_attempt_ns = 0;   // monotonic: the latest resend of one of its records
    };
    // A record waiting to be (re)sent behind the records of its key before it.
    struct queued {
        std::uint64_t token;
        std::uint32_t attempt;  // the attempt its next send will be
        std::int64_t due_ns;    // 0: as soon as it is the head
        bool in_flight;
        std::string key, record;
    };
    void finish_if_complete(std::uint32_t event_index);
    // False: the output's queue is full and did not take it (backpressure).
    bool write(std::string_view key, std::string_view record, std::uint64_t token);
    // A record's first attempt: written now, or queued behind its key's
    // resends, or (queue full) queued to be offered again shortly.
    void write_or_queue(std::string_view key, std::string_view record, std::uint64_t token);
    // Queues a record behind key's queue (creating it).
    void enqueue(std::uint64_t key_id, std::uint64_t token, std::uint32_t attempt, std::int64_t due_ns,
                 std::string_view key, std::string_view record);
    // The queue whose head in flight is this record, or end().
    std::unordered_map<std::uint64_t, std::deque<queued>>::iterator head_of(std::uint64_t token,
                                                                            std::string_view record) noexcept;
    // The head left its queue (confirmed or failed for good): the next may go.
    void pop_head(std::unordered_map<std::uint64_t, std::deque<queued>>::iterator q) noexcept;
    // A record's outcome is final; bytes: its key and value.
    void settle(std::uint64_t token, std::uint32_t attempt, const char* error, std::size_t bytes) noexcept;
    flow& flow_;
    sink_context& ctx_;
    backoff backoff_;  // its bounds follow flow.live at each retry
    std::string sink_name_;
    std::unique_ptr<output> out_;
    std::vector<per_event> events_;  // by in-flight event index (the token)
    // Key hash -> records of that key waiting to be (re)sent, in order.
    std::unordered_map<std::uint64_t, std::deque<queued>> queues_;
    // Queue heads in flight: (token, key hash).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> heads_in_flight_;
    std::vector<std::uint64_t> due_;  // reused by poll()
    std::size_t waiting_ = 0;
    std::uint32_t current_ = 0;
    std::uint32_t emitted_ = 0;
    std::uint64_t outstanding_total_ = 0;
    std::uint64_t unbound_seq_ = 0;
    std::uint64_t unbound_lost_ = 0;
    std::int64_t now_ns_ = 0;
    bool discards_ = false;
};

}  // namespace sluice
