// The dead-letter producer: original bytes plus why, to <topic><suffix>.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/backoff.hpp"
#include "dead_letter/dead_letter_record.hpp"
#include "decode/event_slot.hpp"
#include "kafka/kafka_handles.hpp"

namespace sluice {

class ack_channel;
struct commit_metrics;

// Design: send() may be called from any thread (librdkafka's produce is
// thread-safe); poll() only from the commit thread, so delivery reports run
// there and release the event through the commit thread's ack channel. A
// message whose delivery fails is produced again: nothing is acked that was
// not written to the dead-letter topic. A message librdkafka refuses to
// take (a topic in an error state after a permanent produce error) waits in
// a resend list and is tried again from poll() with backoff (full jitter).
// After a fatal error of the (idempotent) producer, poll() replaces it: the
// records it held are reported failed and resent through the new one.
//
// Headers (both formats): sluice.source.topic, sluice.source.partition,
// sluice.source.offset, sluice.failure_reason, sluice.attempt_count,
// sluice.sink (when a sink's output failed), sluice.dlq.format, then the
// event's trace context (see in_flight_event::trace). Key: the original. Value:
// the original bytes (headers) or the JSON envelope (see dead_letter_record).
class dead_letter_producer {
public:
    dead_letter_producer(const std::string& bootstrap, const std::string& suffix,
                         const std::map<std::string, std::string>& props, commit_metrics& metrics,
                         dlq_format format = dlq_format::headers);
    ~dead_letter_producer();

    // the event's share is released when the dead letter is durably written. sink:
    // the sink whose output failed ("" for bad input). first/last_attempt_ns:
    // wall-clock times of the first and last output attempt; 0: now (a
    // decode failure).
    void send(in_flight_event& ev, std::string_view topic, std::int32_t partition, std::string_view reason,
              std::uint32_t attempts, std::string_view sink = {}, std::int64_t first_attempt_ns = 0,
              std::int64_t last_attempt_ns = 0);

    // Commit thread: serve delivery reports, resend what is due.
    void poll(ack_channel& releases);
    // Written or waiting to be written again.
    std::size_t in_flight() const noexcept;
    const std::string& suffix() const noexcept { return suffix_; }

private:
    struct resend {
        in_flight_event* ev;
        std::string topic;
        rd_kafka_headers_t* headers;  // owned until produced
        std::uint32_t failures;
        std::int64_t due_ns;
        std::string value;      // the record's value, unless it is the event's payload
        bool own_value = false;
    };
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
    // Produce once; false if librdkafka would not take it. may_wait: wait
    // out a full local queue (not on the commit thread, which empties it).
    bool produce(in_flight_event& ev, const std::string& topic, rd_kafka_headers_t* headers, std::string_view value,
                 bool may_wait);
    void schedule(in_flight_event& ev, std::string topic, rd_kafka_headers_t* headers, std::uint32_t failures,
                  std::string value, bool own_value);
    void resend_due();
    // Commit thread: a new producer after a fatal error of the current one.
    void rebuild();

    std::string suffix_;
    dlq_format format_;
    commit_metrics& metrics_;
    std::string bootstrap_;
    std::map<std::string, std::string> props_;
    // Shared by producing threads; exclusive only to replace rk_ (rebuild).
    mutable std::shared_mutex rk_mutex_;
    kafka_handle rk_;
    ack_channel* releases_ = nullptr;  // set during poll()
    // Failure path only: sink threads and the commit thread add, poll() takes.
    std::mutex resend_mutex_;
    backoff backoff_;  // under resend_mutex_
    std::vector<resend> resends_;
    std::atomic<std::size_t> resend_count_{0};
};

}  // namespace sluice
