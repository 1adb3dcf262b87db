// Dead-letter production with headers, and resending until written.
#include "dead_letter/dead_letter.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <thread>

#include "base/clock.hpp"
#include "ring/ack_channel.hpp"
#include "stats/metrics.hpp"

namespace sluice {

namespace {
constexpr std::int64_t resend_backoff_ns = 50'000'000;       // first resend within 50 ms...
constexpr std::int64_t resend_backoff_max_ns = 2'000'000'000;  // ...doubling up to 2 s
}  // namespace

dead_letter_producer::dead_letter_producer(const std::string& bootstrap, const std::string& suffix,
                                           const std::map<std::string, std::string>& props,
                                           commit_metrics& metrics, dlq_format format)
    : suffix_(suffix), format_(format), metrics_(metrics), bootstrap_(bootstrap), props_(props),
      rk_(make_producer(bootstrap, props, this, &dead_letter_producer::on_delivery)),
      backoff_(resend_backoff_ns, resend_backoff_max_ns) {}

dead_letter_producer::~dead_letter_producer() {
    for (resend& r : resends_) rd_kafka_headers_destroy(r.headers);
}

std::size_t dead_letter_producer::in_flight() const noexcept {
    std::shared_lock lock(rk_mutex_);
    return static_cast<std::size_t>(rd_kafka_outq_len(rk_.get())) + resend_count_.load(std::memory_order_acquire);
}

bool dead_letter_producer::produce(in_flight_event& ev, const std::string& topic, rd_kafka_headers_t* headers,
                                   std::string_view value, bool may_wait) {
    const std::string_view key = ev.key();
    std::shared_lock lock(rk_mutex_);
    for (;;) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&ev), RD_KAFKA_V_END);
        if (!err) return true;  // librdkafka owns the headers now
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !may_wait) return false;
        // Local queue full: the commit thread serves reports; wait for room.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void dead_letter_producer::schedule(in_flight_event& ev, std::string topic, rd_kafka_headers_t* headers,
                                    std::uint32_t failures, std::string value, bool own_value) {
    metrics_.dlq_retries.add();
    std::lock_guard lock(resend_mutex_);
    resends_.push_back({&ev, std::move(topic), headers, failures, mono_ns() + backoff_.delay_ns(failures),
                        std::move(value), own_value});
    resend_count_.store(resends_.size(), std::memory_order_release);
}

void dead_letter_producer::send(in_flight_event& ev, std::string_view topic, std::int32_t partition,
                                std::string_view reason, std::uint32_t attempts, std::string_view sink,
                                std::int64_t first_attempt_ns, std::int64_t last_attempt_ns) {
    metrics_.dead_letter_kinds.add(reason);
    std::string dlq_topic = std::string(topic) + suffix_;
    char part[16], off[24], att[16];
    const auto part_end = std::to_chars(part, part + sizeof part, partition).ptr;
    const auto off_end = std::to_chars(off, off + sizeof off, ev.offset).ptr;
    const auto att_end = std::to_chars(att, att + sizeof att, attempts).ptr;
    rd_kafka_headers_t* h = rd_kafka_headers_new(12);
    rd_kafka_header_add(h, "sluice.source.topic", -1, topic.data(), static_cast<ssize_t>(topic.size()));
    rd_kafka_header_add(h, "sluice.source.partition", -1, part, part_end - part);
    rd_kafka_header_add(h, "sluice.source.offset", -1, off, off_end - off);
    rd_kafka_header_add(h, "sluice.failure_reason", -1, reason.data(), static_cast<ssize_t>(reason.size()));
    rd_kafka_header_add(h, "sluice.attempt_count", -1, att, att_end - att);
    if (!sink.empty()) rd_kafka_header_add(h, "sluice.sink", -1, sink.data(), static_cast<ssize_t>(sink.size()));
    rd_kafka_header_add(h, "sluice.dlq.format", -1, dlq_format_name(format_), -1);
    trace_header trace[max_trace_headers + 1];
    const trace_view tv = ev.trace(trace);
    for (std::size_t i = 0; i < tv.count; ++i)
        rd_kafka_header_add(h, tv.items[i].name, -1, tv.items[i].value.empty() ? "" : tv.items[i].value.data(),
                            static_cast<ssize_t>(tv.items[i].value.size()));
    const std::string_view original(ev.payload(), ev.payload_len());
    if (format_ == dlq_format::headers) {
        if (!produce(ev, dlq_topic, h, original, true)) schedule(ev, std::move(dlq_topic), h, 1, {}, false);
        return;
    }
    const std::int64_t now = wall_ns();
    dead_letter_facts facts{topic, reason, attempts, first_attempt_ns ? first_attempt_ns : now,
                            last_attempt_ns ? last_attempt_ns : now};
    std::string value;
    write_envelope(value, original, facts);
    if (!produce(ev, dlq_topic, h, value, true)) schedule(ev, std::move(dlq_topic), h, 1, std::move(value), true);
}

void dead_letter_producer::poll(ack_channel& releases) {
    releases_ = &releases;
    bool fatal = false;
    {
        std::shared_lock lock(rk_mutex_);
        rd_kafka_poll(rk_.get(), 0);
        fatal = rd_kafka_fatal_error(rk_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (fatal) rebuild();
    if (resend_count_.load(std::memory_order_acquire) > 0) resend_due();
}

void dead_letter_producer::rebuild() {
    std::unique_lock lock(rk_mutex_);
    char why[512] = "";
    rd_kafka_fatal_error(rk_.get(), why, sizeof why);
    std::fprintf(stderr, "sluice: dead-letter producer: fatal error: %s; replacing the producer, "
                         "%d unconfirmed dead letters are sent again\n", why, rd_kafka_outq_len(rk_.get()));
    // Every dead letter it holds is reported failed and scheduled again.
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 500 && rd_kafka_outq_len(rk_.get()) > 0; ++i) rd_kafka_poll(rk_.get(), 10);
    rk_ = make_producer(bootstrap_, props_, this, &dead_letter_producer::on_delivery);
    metrics_.dlq_rebuilds.add();
}

void dead_letter_producer::resend_due() {
    std::vector<resend> due;
    {
        std::lock_guard lock(resend_mutex_);
        const std::int64_t now = mono_ns();
        auto it = std::partition(resends_.begin(), resends_.end(), [&](const resend& r) { return r.due_ns > now; });
        std::move(it, resends_.end(), std::back_inserter(due));
        resends_.erase(it, resends_.end());
        // Still counted as in flight while being resent below.
        resend_count_.store(resends_.size() + due.size(), std::memory_order_release);
    }
    for (resend& r : due) {
        // The commit thread serves the delivery reports that make room: never wait here.
        const std::string_view value =
            r.own_value ? std::string_view(r.value) : std::string_view(r.ev->payload(), r.ev->payload_len());
        if (!produce(*r.ev, r.topic, r.headers, value, false)) {
            schedule(*r.ev, std::move(r.topic), r.headers, r.failures + 1, std::move(r.value), r.own_value);
        }
        resend_count_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void dead_letter_producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<dead_letter_producer*>(opaque);
    auto* ev = static_cast<in_flight_event*>(m->_private);
    if (!m->err) {
        self->metrics_.dlq_delivered.add();
        self->releases_->release(*ev);
        return;
    }
    // Not written: produce it again after a backoff, keeping the event held.
    rd_kafka_headers_t* h = nullptr;
    rd_kafka_headers_t* copy = nullptr;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) copy = rd_kafka_headers_copy(h);
    else copy = rd_kafka_headers_new(0);
    self->schedule(*ev, rd_kafka_topic_name(m->rkt), copy, 1,
                   std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0), true);
}

}  // namespace sluice
