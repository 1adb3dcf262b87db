// Mock cluster set-up and topic creation.
#include "kafka/embedded_broker.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <mutex>
#include <stdexcept>

namespace sluice {
namespace {
std::mutex current_mutex;
std::string current;
}  // namespace

embedded_broker::embedded_broker(int brokers, const std::map<std::string, int>& topics) {
    kafka_config conf;
    conf.set("log_level", "3");
    host_ = conf.make(RD_KAFKA_PRODUCER);
    cluster_ = rd_kafka_mock_cluster_new(host_.get(), brokers);
    if (!cluster_) throw std::runtime_error("embedded broker: cannot start mock cluster");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    brokers_ = brokers;
    for (const auto& [name, parts] : topics) create_topic(name, parts);
    std::lock_guard lock(current_mutex);
    current = bootstraps_;
}

embedded_broker::~embedded_broker() {
    {
        std::lock_guard lock(current_mutex);
        if (current == bootstraps_) current.clear();
    }
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
}

void embedded_broker::create_topic(const std::string& name, int partitions) {
    const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
    if (err) throw std::runtime_error("embedded broker: cannot create topic " + name + ": " + rd_kafka_err2str(err));
    topics_[name] = partitions;
}

std::string embedded_broker::current_bootstraps() {
    std::lock_guard lock(current_mutex);
    return current;
}

}  // namespace sluice
