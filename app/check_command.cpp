// `sluice check`: validates a configuration without running it and prints the effective settings.
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "base/log.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "config/config_dump.hpp"
#include "kafka/kafka_handles.hpp"
#include "kafka/topic_check.hpp"
#include "seed_config.hpp"

namespace sluice {

namespace {

// The handles are built without brokers on purpose: librdkafka's warning
// about that is noise here; its other lines go to the logger.
void check_log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    if (buf && std::strstr(buf, "bootstrap.servers")) return;
    logf(level <= 3 ? log_level::error : level == 4 ? log_level::warning : log_level::info, "rdkafka", "%s: %s (%s)",
         fac ? fac : "", buf ? buf : "", rd_kafka_name(rk));
}

// librdkafka checks each property when it is set and the whole set when a
// handle is created; without bootstrap.servers the handle connects nowhere.
void build_without_connecting(kafka_config& conf, rd_kafka_type_t type) {
    rd_kafka_conf_set_log_cb(conf.get(), check_log_cb);
    kafka_handle rk = conf.make(type);
    // A consumer that never joined needs no close (and closing would wait for a coordinator).
    rd_kafka_destroy_flags(rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

}  // namespace

int check_command(const check_options& o) {
    if (o.property_list) {
        rd_kafka_conf_properties_show(stdout);
        return 0;
    }
    const settings cfg = load_settings(o.config, o.sets);
    {
        kafka_config consumer;
        consumer.set_all(consumer_defaults(cfg.kafka_properties));
        consumer.set("group.id", cfg.group_id);
        consumer.set_all(cfg.kafka_properties);
        build_without_connecting(consumer, RD_KAFKA_CONSUMER);
    }
    {
        kafka_config producer;
        producer.set_all(producer_defaults());
        producer.set_all(cfg.producer_properties);
        build_without_connecting(producer, RD_KAFKA_PRODUCER);
    }
    bool connected = false;
    if (o.connect) {
        if (cfg.bootstrap_servers == "embedded")
            std::fprintf(stderr, "sluice check: --connect: the embedded broker creates every topic it needs\n");
        else if (!check_topics(cfg, cfg.bootstrap_servers, 10000))
            throw std::runtime_error("check --connect: the brokers at " + cfg.bootstrap_servers + " did not answer");
        else
            connected = true;
    }
    std::printf("# sluice check: %s is valid%s; the effective configuration (secrets redacted):\n",
                o.config.empty() ? "the default configuration" : o.config.c_str(),
                connected ? " and its topics exist with leaders" : "");
    std::fputs(effective_config(cfg).c_str(), stdout);
    return 0;
}

}  // namespace sluice
