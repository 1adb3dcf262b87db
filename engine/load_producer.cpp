// Constant-rate production with delivery accounting.
#include "load_producer.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "clock.hpp"

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
}

load_result load_producer::run(double rate, std::uint64_t count, double duration_s, const std::atomic<bool>& stop,
                               const std::function<load_message(std::uint64_t, std::int64_t)>& next,
                               const std::function<void(const load_result&)>& progress) {
    result_ = {};
    // Connect and learn the topics' partitions before the first event is
    // due: otherwise the first events wait in librdkafka for the connection
    // and metadata while their timestamps age, which a latency run would
    // count against the pipeline. Without an answer, go on: deliveries
    // fail and are counted.
    const struct rd_kafka_metadata* md = nullptr;
    if (rd_kafka_metadata(rk_.get(), 1, nullptr, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    const std::int64_t start = mono_ns();
    const std::int64_t end = duration_s > 0 ? start + static_cast<std::int64_t>(duration_s * 1e9) : INT64_MAX;
    std::int64_t last_progress = start;
    for (std::uint64_t i = 0; (count == 0 || i < count) && !stop.load(std::memory_order_relaxed); ++i) {
        std::int64_t now = mono_ns();
        if (now >= end) break;
        if (rate > 0) {
            // Ahead of schedule: sleep (never spin: the load shares the cores
            // with what it measures). Messages that fell due meanwhile go out
            // back to back, so the offered rate holds at ~1 ms granularity.
            const std::int64_t due = start + static_cast<std::int64_t>(double(i) * 1e9 / rate);
            while (now < due && !stop.load(std::memory_order_relaxed)) {
                rd_kafka_poll(rk_.get(), 0);
                std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<std::int64_t>(due - now, 1'000'000)));
                now = mono_ns();
            }
        }
        const load_message m = next(i, wall_ns());
        for (;;) {
            const rd_kafka_resp_err_t err = rd_kafka_producev(
                rk_.get(), RD_KAFKA_V_TOPIC(std::string(m.topic).c_str()),
                RD_KAFKA_V_KEY(const_cast<char*>(m.key.data()), m.key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (!err) break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                ++result_.failed;
                break;
            }
            rd_kafka_poll(rk_.get(), 10);
        }
        ++result_.sent;
        if ((i & 255) == 0) rd_kafka_poll(rk_.get(), 0);
        if (progress && now - last_progress > 1'000'000'000) {
            last_progress = now;
            result_.seconds = double(now - start) / 1e9;
            progress(result_);
        }
    }
    while (rd_kafka_outq_len(rk_.get()) > 0 && mono_ns() < start + 3600'000'000'000LL) {
        rd_kafka_poll(rk_.get(), 50);
        if (stop.load(std::memory_order_relaxed) && rd_kafka_flush(rk_.get(), 5000) != 0) break;
    }
    result_.seconds = double(mono_ns() - start) / 1e9;
    return result_;
}

}  // namespace sluice
