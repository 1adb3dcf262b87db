// Dead-letter production with headers and redelivery on failure.
#include "dead_letter.hpp"

#include <charconv>
#include <thread>

#include "ack_channel.hpp"
#include "metrics.hpp"

namespace sluice {

dead_letter_producer::dead_letter_producer(const std::string& bootstrap, const std::string& suffix,
                                           const std::map<std::string, std::string>& props,
                                           commit_metrics& metrics)
    : suffix_(suffix), metrics_(metrics),
      rk_(make_producer(bootstrap, props, this, &dead_letter_producer::on_delivery)) {}

dead_letter_producer::~dead_letter_producer() = default;

std::size_t dead_letter_producer::in_flight() const noexcept {
    return static_cast<std::size_t>(rd_kafka_outq_len(rk_.get()));
}

void dead_letter_producer::send(event_slot& slot, std::string_view topic, std::int32_t partition,
                                std::string_view key, std::string_view reason, std::uint32_t attempts) {
    const std::string dlq_topic = std::string(topic) + suffix_;
    char part[16], off[24], att[16];
    const auto part_end = std::to_chars(part, part + sizeof part, partition).ptr;
    const auto off_end = std::to_chars(off, off + sizeof off, slot.offset).ptr;
    const auto att_end = std::to_chars(att, att + sizeof att, attempts).ptr;
    rd_kafka_headers_t* h = rd_kafka_headers_new(5);
    rd_kafka_header_add(h, "sluice.source.topic", -1, topic.data(), static_cast<ssize_t>(topic.size()));
    rd_kafka_header_add(h, "sluice.source.partition", -1, part, part_end - part);
    rd_kafka_header_add(h, "sluice.source.offset", -1, off, off_end - off);
    rd_kafka_header_add(h, "sluice.failure_reason", -1, reason.data(), static_cast<ssize_t>(reason.size()));
    rd_kafka_header_add(h, "sluice.attempt_count", -1, att, att_end - att);
    for (;;) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            rk_.get(), RD_KAFKA_V_TOPIC(dlq_topic.c_str()),
            RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
            RD_KAFKA_V_VALUE(slot.payload(), slot.payload_len()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(&slot), RD_KAFKA_V_END);
        if (!err) return;  // librdkafka owns h now
        // Queue full (the commit thread serves reports) or a transient local
        // error: wait a little and try again rather than lose the event.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void dead_letter_producer::poll(ack_channel& releases) {
    releases_ = &releases;
    rd_kafka_poll(rk_.get(), 0);
}

void dead_letter_producer::on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<dead_letter_producer*>(opaque);
    auto* slot = static_cast<event_slot*>(m->_private);
    if (!m->err) {
        self->metrics_.dlq_delivered.add();
        self->releases_->release(*slot);
        return;
    }
    // Not written: produce the same message again (payload, key and headers
    // are still in the slot / report), keeping the slot held.
    self->metrics_.dlq_retries.add();
    rd_kafka_headers_t* h = nullptr;
    rd_kafka_headers_t* copy = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) copy = rd_kafka_headers_copy(h);
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(m->rkt), RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_OPAQUE(slot), RD_KAFKA_V_END);
    if (err) {
        if (copy) rd_kafka_headers_destroy(copy);
        // Cannot even enqueue: keep trying from the slot on the next report cycle.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        self->metrics_.dlq_retries.add();
        rd_kafka_producev(rk, RD_KAFKA_V_RKT(m->rkt), RD_KAFKA_V_KEY(m->key, m->key_len),
                          RD_KAFKA_V_VALUE(m->payload, m->len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(slot),
                          RD_KAFKA_V_END);
    }
}

}  // namespace sluice
