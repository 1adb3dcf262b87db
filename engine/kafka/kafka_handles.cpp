// Checked librdkafka configuration and the tuned defaults.
#include "kafka/kafka_handles.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

#include "base/log.hpp"
#include "config/config.hpp"
#include "config/config_dump.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka/kafka_statistics.hpp"

namespace sluice {

kafka_config::kafka_config() : conf_(rd_kafka_conf_new()) {
    log_kafka_through_logger(conf_);
    collect_kafka_statistics(conf_);
}
kafka_config::~kafka_config() {
    if (conf_) rd_kafka_conf_destroy(conf_);
}

kafka_config& kafka_config::set(const std::string& name, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf_, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw config_error("config: kafka property " + name + "=" +
                           (is_secret_property(name) ? std::string(redacted) : value) + ": " + err);
    return *this;
}

kafka_config& kafka_config::set_all(const std::map<std::string, std::string>& props) {
    for (const auto& [k, v] : props) set(k, v);
    return *this;
}

kafka_handle kafka_config::make(rd_kafka_type_t type) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf_, err, sizeof err);
    // rd_kafka_new() fails only on a configuration it refuses as a whole.
    if (!rk) throw config_error(std::string("config: librdkafka refuses the configuration: ") + err);
    conf_ = nullptr;  // owned by rk now
    kafka_statistics::instance().prepare(rd_kafka_name(rk));
    return kafka_handle(rk);
}

namespace {
constexpr long long fetch_max_bytes = 1 << 20;  // see consumer_defaults()
}  // namespace

std::map<std::string, std::string> consumer_defaults(const std::map<std::string, std::string>& overrides) {
    std::map<std::string, std::string> d = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        // sluice resolves every start offset itself and assigns absolute
        // offsets; an out-of-range position comes back to it as an error
        // instead of being reset by librdkafka (whose reset timer outlives a
        // pause/resume in 2.0.2 and moves the position later).
        {"auto.offset.reset", "error"},
        {"fetch.wait.max.ms", "10"},
        // Fetch responses of at most 1 MiB (default 50 MiB, 1 MiB per
        // partition): librdkafka parses a response right after receiving it,
        // and a small one is still in cache and reuses heap pages; large ones
        // cost CPU per event and throughput (perf/README.md, Fetch sizes).
        // At 1 MiB per round trip a broker 0.5 ms away still delivers 2 GB/s;
        // raise them for distant brokers.
        {"fetch.max.bytes", std::to_string(fetch_max_bytes)},
        {"max.partition.fetch.bytes", "262144"},
        // The prefetch limits bound what librdkafka fetches ahead: under
        // steady backpressure the source does not pause, so they are what
        // stops the fetchers (RSS at full load). In 2.0.2 they are checked
        // against the one shared consumer queue, and a fetcher that finds it
        // full sleeps up to a hard-coded second, which costs a backlog drain
        // with outputs "none" some throughput (perf/README.md).
        {"queued.min.messages", "100000"},
        {"queued.max.messages.kbytes", "65536"},
        {"socket.nagle.disable", "true"},
        {"fetch.error.backoff.ms", "50"},
        // Eager: destroying a cooperative-sticky consumer of 2.0.2 before
        // its first assignment aborts (librdkafka issue 4312).
        {"partition.assignment.strategy", "range,roundrobin"},
        // librdkafka's statistics become sluice_kafka_* metrics (kafka_statistics.hpp).
        {"statistics.interval.ms", "10000"},
    };
    // librdkafka refuses a fetch.max.bytes below message.max.bytes: a larger
    // message.max.bytes given without fetch.max.bytes raises ours with it.
    const auto mm = overrides.find("message.max.bytes");
    if (mm != overrides.end() && !overrides.count("fetch.max.bytes")) {
        long long v = 0;
        const auto [end, ec] = std::from_chars(mm->second.data(), mm->second.data() + mm->second.size(), v);
        if (ec == std::errc() && end == mm->second.data() + mm->second.size() && v > fetch_max_bytes)
            d["fetch.max.bytes"] = mm->second;
    }
    return d;
}

std::map<std::string, std::string> producer_defaults() {
    return {
        {"linger.ms", "1"},
        {"socket.nagle.disable", "true"},
        // Idempotent by default: librdkafka's own retries of a produce request
        // neither duplicate nor reorder records (implies acks=all and at most
        // 5 requests in flight per broker). A user may turn it off.
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"message.timeout.ms", "30000"},
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"statistics.interval.ms", "10000"},
    };
}

kafka_handle make_producer(const std::string& bootstrap, const std::map<std::string, std::string>& props,
                           void* opaque, delivery_report_cb on_delivery) {
    kafka_config conf;
    conf.set_all(producer_defaults());
    conf.set("bootstrap.servers", bootstrap);
    conf.set_all(props);
    rd_kafka_conf_set_opaque(conf.get(), opaque);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
    return conf.make(RD_KAFKA_PRODUCER);
}

std::string resolve_bootstrap(const std::string& configured) {
    if (configured != "embedded") return configured;
    const std::string b = embedded_broker::current_bootstraps();
    if (b.empty()) throw std::runtime_error("kafka.bootstrap.servers is \"embedded\" but no embedded broker runs");
    return b;
}

}  // namespace sluice
