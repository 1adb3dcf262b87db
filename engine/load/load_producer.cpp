// Scheduled production with delivery accounting.
#include "load/load_producer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "base/clock.hpp"

namespace sluice {

namespace {
std::map<std::string, std::string> load_props(std::map<std::string, std::string> props) {
    // Throughput over latency for the offered load; the caller's props win.
    props.emplace("linger.ms", "5");
    props.emplace("acks", "1");
    props.emplace("enable.idempotence", "false");  // acks=1 is not allowed with it
    return props;
}
}  // namespace

load_producer::load_producer(const std::string& bootstrap, const std::map<std::string, std::string>& props)
    : rk_(make_producer(bootstrap, load_props(props), this, &load_producer::on_delivery)) {}

void load_producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<load_producer*>(opaque);
    if (m->err) ++self->result_.failed;
    else ++self->result_.delivered;
    // The per-message opaque carries the send time (served on run()'s thread).
    const auto sent = static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(m->_private));
    if (self->delivery_ && sent > 0) self->delivery_->record(static_cast<std::uint64_t>(std::max<std::int64_t>(mono_ns() - sent, 0)));
}

load_result load_producer::run(double rate, std::uint64_t count, double duration_s, const std::atomic<bool>& stop,
                               const next_fn& next, const std::function<void(const load_result&)>& progress) {
    char spec[32];
    std::snprintf(spec, sizeof spec, "%.17g", rate);
    return run(rate_profile::parse(spec, 0, duration_s), count, stop, next, progress);
}

load_result load_producer::run(rate_profile profile, std::uint64_t count, const std::atomic<bool>& stop,
                               const next_fn& next, const std::function<void(const load_result&)>& progress) {
    result_ = {};
    behind_ = std::make_unique<histogram>();
    delivery_ = std::make_unique<histogram>();
    // Connect and learn the topics' partitions before the first event is
    // due: otherwise the first events wait in librdkafka for the connection
    // and metadata while their timestamps age, which a latency run would
    // count against the pipeline. Without an answer, go on: deliveries
    // fail and are counted.
    const struct rd_kafka_metadata* md = nullptr;
    if (rd_kafka_metadata(rk_.get(), 1, nullptr, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    const std::int64_t start = mono_ns();
    const std::int64_t start_wall = wall_ns();
    result_.start_wall_ns = start_wall;
    const double end_s = profile.end_s();
    const std::int64_t end = std::isfinite(end_s) ? start + static_cast<std::int64_t>(end_s * 1e9) : INT64_MAX;
    std::int64_t last_progress = start, last_send = start;
    bool ended_by_profile = false;
    for (std::uint64_t i = 0; (count == 0 || i < count) && !stop.load(std::memory_order_relaxed); ++i) {
        std::int64_t now = mono_ns();
        std::int64_t due = now;
        if (!profile.unlimited()) {
            const double due_s = profile.due_s(i);
            if (!std::isfinite(due_s)) {
                ended_by_profile = true;
                break;
            }
            due = start + static_cast<std::int64_t>(due_s * 1e9);
            // Ahead of schedule: sleep (never spin: the load shares the cores
            // with what it measures). Messages that fell due meanwhile go out
            // back to back, each stamped with its own due time.
            while (now < due && !stop.load(std::memory_order_relaxed)) {
                rd_kafka_poll(rk_.get(), 0);
                std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<std::int64_t>(due - now, 1'000'000)));
                now = mono_ns();
            }
            if (stop.load(std::memory_order_relaxed)) break;
        } else if (now >= end) {
            ended_by_profile = true;
            break;
        }
        const std::int64_t due_wall = start_wall + (due - start);
        const load_message m = next(i, due_wall);
        for (;;) {
            const rd_kafka_resp_err_t err = rd_kafka_producev(
                rk_.get(), RD_KAFKA_V_TOPIC(std::string(m.topic).c_str()),
                RD_KAFKA_V_KEY(const_cast<char*>(m.key.data()), m.key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
                RD_KAFKA_V_TIMESTAMP(due_wall / 1'000'000),
                RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(mono_ns()))),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (!err) break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                ++result_.failed;
                break;
            }
            rd_kafka_poll(rk_.get(), 10);
        }
        last_send = mono_ns();
        behind_->record(static_cast<std::uint64_t>(std::max<std::int64_t>(last_send - due, 0)));
        ++result_.sent;
        if ((i & 255) == 0) rd_kafka_poll(rk_.get(), 0);
        if (progress && now - last_progress > 1'000'000'000) {
            last_progress = now;
            result_.seconds = double(now - start) / 1e9;
            progress(result_);
        }
    }
    // The schedule's period: to the profile's end when it ran out, to the
    // time the next event would have been due when the count ran out, else
    // (stopped) to the last send. Achieved rates use the longer of that
    // and the sending itself.
    const double sent_s = double(last_send - start) / 1e9;
    double schedule_s = sent_s;
    if (ended_by_profile && std::isfinite(end_s)) schedule_s = end_s;
    else if (!profile.unlimited() && count && result_.sent == count && std::isfinite(profile.due_s(count)))
        schedule_s = profile.due_s(count);
    result_.schedule_seconds = schedule_s;
    result_.seconds = std::max(schedule_s, sent_s);
    result_.offered = profile.unlimited() ? double(result_.sent) : profile.events_until(schedule_s);
    while (rd_kafka_outq_len(rk_.get()) > 0 && mono_ns() < start + 3600'000'000'000LL) {
        rd_kafka_poll(rk_.get(), 50);
        if (stop.load(std::memory_order_relaxed) && rd_kafka_flush(rk_.get(), 5000) != 0) break;
    }
    result_.drained_seconds = double(mono_ns() - start) / 1e9;
    result_.behind = behind_->snapshot();
    result_.delivery = delivery_->snapshot();
    return result_;
}

}  // namespace sluice
