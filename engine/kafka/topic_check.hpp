// Start-up check: the topics sluice writes to (outputs, dead letters) and the ones its sinks read exist.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace sluice {

struct required_topic {
    std::string topic;
    std::string key;  // the setting that names it, for the error
    bool written;     // produced to (needs a leader for every partition)
};

// Kafka outputs, the dead-letter topic of every consumed topic (of the
// replay), and the topics the domain's sinks read (config_domain::topics_read).
std::vector<required_topic> required_topics(const settings& cfg);

// Asks the brokers for their topic list (which creates nothing, unlike a
// metadata request naming the topics) and throws config_error naming the
// first topic that is missing, unauthorized or has a partition without a
// leader, and the key that names it. Returns false, after a warning, if the
// brokers did not answer within timeout_ms: a broker that is down is not a
// configuration error, and sluice waits for it as it always does.
bool check_topics(const settings& cfg, const std::string& bootstrap, int timeout_ms);

}  // namespace sluice
