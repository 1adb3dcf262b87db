// The dead-letter producer: original bytes plus why, to <topic><suffix>.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "event_slot.hpp"
#include "kafka_handles.hpp"

namespace sluice {

class ack_channel;
struct commit_metrics;

// Design: send() may be called from any thread (librdkafka's produce is
// thread-safe); poll() only from the commit thread, so delivery reports run
// there and release the slot through the commit thread's ack channel. A
// message whose delivery fails is produced again: nothing is acked that was
// not written to the dead-letter topic.
//
// Headers: sluice.source.topic, sluice.source.partition, sluice.source.offset,
// sluice.failure_reason, sluice.attempt_count. Value and key: the originals.
class dead_letter_producer {
public:
    dead_letter_producer(const std::string& bootstrap, const std::string& suffix,
                         const std::map<std::string, std::string>& props, commit_metrics& metrics);
    ~dead_letter_producer();

    // slot's share is released when the dead letter is durably written.
    void send(event_slot& slot, std::string_view topic, std::int32_t partition,
              std::string_view key, std::string_view reason, std::uint32_t attempts);

    // Commit thread: serve delivery reports.
    void poll(ack_channel& releases);
    std::size_t in_flight() const noexcept;
    const std::string& suffix() const noexcept { return suffix_; }

private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);

    std::string suffix_;
    commit_metrics& metrics_;
    kafka_handle rk_;
    ack_channel* releases_ = nullptr;  // set during poll()
};

}  // namespace sluice
