// One metadata request for all topics, compared with what the configuration needs.
#include "kafka/topic_check.hpp"

#include <map>

#include "base/log.hpp"
#include "kafka/kafka_handles.hpp"

namespace sluice {

std::vector<required_topic> required_topics(const settings& cfg) {
    std::vector<required_topic> r;
    for (const auto& [sink, out] : cfg.outputs)
        if (out.type == output_spec::kind::kafka) r.push_back({out.target, "sinks." + sink + ".output", true});
    if (!cfg.replay_file.empty()) {
        r.push_back({"replay" + cfg.dlq_suffix, "kafka.dlq.suffix (dead letters of the replay)", true});
    } else {
        for (const auto& t : cfg.topics) r.push_back({t + cfg.dlq_suffix, "kafka.dlq.suffix (dead letters of " + t + ")", true});
        if (cfg.domain && cfg.domain->topics_read)
            for (const auto& [topic, key] : cfg.domain->topics_read(cfg)) r.push_back({topic, key, false});
    }
    return r;
}

bool check_topics(const settings& cfg, const std::string& bootstrap, int timeout_ms) {
    kafka_config conf;
    conf.set_all(producer_defaults());
    conf.set("bootstrap.servers", bootstrap);
    conf.set_all(cfg.producer_properties);
    conf.set("statistics.interval.ms", "0");
    kafka_handle rk = conf.make(RD_KAFKA_PRODUCER);
    const rd_kafka_metadata_t* md = nullptr;
    if (const rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 1, nullptr, &md, timeout_ms); err) {
        logf(log_level::warning, "topics", "cannot check the topics (%s within %d ms): going on without the check",
             rd_kafka_err2str(err), timeout_ms);
        return false;
    }
    std::map<std::string, const rd_kafka_metadata_topic_t*> by_name;
    for (int i = 0; i < md->topic_cnt; ++i) by_name[md->topics[i].topic] = &md->topics[i];
    std::string problem;
    for (const auto& need : required_topics(cfg)) {
        const auto it = by_name.find(need.topic);
        if (it == by_name.end()) {
            problem = "config: " + need.key + ": topic '" + need.topic + "' does not exist on " + bootstrap;
        } else if (it->second->err) {
            problem = "config: " + need.key + ": topic '" + need.topic + "': " + rd_kafka_err2str(it->second->err);
        } else if (it->second->partition_cnt == 0) {
            problem = "config: " + need.key + ": topic '" + need.topic + "' has no partitions";
        } else if (need.written) {
            for (int p = 0; p < it->second->partition_cnt && problem.empty(); ++p)
                if (it->second->partitions[p].leader < 0 || it->second->partitions[p].err)
                    problem = "config: " + need.key + ": topic '" + need.topic + "' partition " + std::to_string(p) +
                              " has no leader: it cannot be written";
        }
        if (!problem.empty()) break;
    }
    rd_kafka_metadata_destroy(md);
    if (!problem.empty()) throw config_error(problem);
    return true;
}

}  // namespace sluice
