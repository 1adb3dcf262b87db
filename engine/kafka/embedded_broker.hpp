// The embedded Kafka broker: librdkafka's mock cluster on loopback.
#pragma once

#include <map>
#include <string>

#include "kafka/kafka_handles.hpp"

struct rd_kafka_mock_cluster_s;

namespace sluice {

// Design: created and destroyed on the control thread; the mock cluster runs
// on librdkafka's own threads. Real Kafka protocol: any client (kcat) can
// connect to bootstraps(). Data lives in memory.
class embedded_broker {
public:
    // topics: name -> partitions, created up front.
    embedded_broker(int brokers, const std::map<std::string, int>& topics);
    ~embedded_broker();
    embedded_broker(const embedded_broker&) = delete;
    embedded_broker& operator=(const embedded_broker&) = delete;

    const std::string& bootstraps() const noexcept { return bootstraps_; }
    rd_kafka_mock_cluster_s* cluster() noexcept { return cluster_; }
    void create_topic(const std::string& name, int partitions);
    // Broker ids run from 1 to brokers().
    int brokers() const noexcept { return brokers_; }
    // The topics created through this object: name -> partitions.
    const std::map<std::string, int>& topics() const noexcept { return topics_; }

    // The broker of this process, if one runs ("" otherwise).
    static std::string current_bootstraps();

private:
    kafka_handle host_;  // the mock cluster lives inside this client
    rd_kafka_mock_cluster_s* cluster_ = nullptr;
    std::string bootstraps_;
    int brokers_ = 0;
    std::map<std::string, int> topics_;
};

}  // namespace sluice
