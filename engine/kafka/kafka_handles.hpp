// RAII for librdkafka handles and checked configuration.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

namespace sluice {

struct kafka_handle_deleter {
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using kafka_handle = std::unique_ptr<rd_kafka_t, kafka_handle_deleter>;

struct kafka_queue_deleter {
    void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
using kafka_queue = std::unique_ptr<rd_kafka_queue_t, kafka_queue_deleter>;

struct partition_list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const noexcept {
        rd_kafka_topic_partition_list_destroy(l);
    }
};
using partition_list = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

// Builds an rd_kafka_conf_t; every set() is checked and throws
// std::runtime_error naming the property and librdkafka's complaint.
class kafka_config {
public:
    kafka_config();
    ~kafka_config();
    kafka_config(const kafka_config&) = delete;
    kafka_config& operator=(const kafka_config&) = delete;

    kafka_config& set(const std::string& name, const std::string& value);
    kafka_config& set_all(const std::map<std::string, std::string>& props);
    rd_kafka_conf_t* get() noexcept { return conf_; }
    // Creates the handle; the configuration is consumed. Throws on failure.
    kafka_handle make(rd_kafka_type_t type);

private:
    rd_kafka_conf_t* conf_;
};

// librdkafka settings for a latency-tuned consumer on librdkafka 2.0.2:
// avoids the 1 s fetch-queue stall, the 500 ms fetch wait and Nagle, and
// keeps fetch responses small. overrides: what the caller sets on top,
// which the defaults are adjusted to (a larger message.max.bytes raises
// fetch.max.bytes).
std::map<std::string, std::string> consumer_defaults(const std::map<std::string, std::string>& overrides = {});
// A producer tuned for low latency with delivery reports, idempotent.
std::map<std::string, std::string> producer_defaults();

using delivery_report_cb = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void* opaque);

// A producer with producer_defaults(), then props, whose delivery reports go
// to on_delivery(opaque) on the thread that polls it.
kafka_handle make_producer(const std::string& bootstrap, const std::map<std::string, std::string>& props,
                           void* opaque, delivery_report_cb on_delivery);

// Resolves "embedded" to the running embedded broker, else returns as given.
std::string resolve_bootstrap(const std::string& configured);

}  // namespace sluice
