// Each engine module's key registration, called in order by build_config_registry().
#pragma once

#include "config/config.hpp"
#include "config/config_registry.hpp"

namespace sluice {

// kafka_source_config.cpp: source, kafka.bootstrap.servers, kafka.group.id,
// kafka.topics, kafka.trace.headers, kafka.properties.*
void register_source_keys(config_registry& keys);
// dead_letter_config.cpp: kafka.dlq.*
void register_dead_letter_keys(config_registry& keys);
// output_config.cpp: kafka.producer.properties.*, sinks.<sink>.output, sinks.retry.*
void register_output_keys(config_registry& keys, const config_domain& domain);
// embedded_broker_config.cpp: embedded.*
void register_embedded_broker_keys(config_registry& keys);
// pipeline.cpp: pipeline.*, shutdown.timeout.ms
void register_pipeline_keys(config_registry& keys);
// committer_config.cpp: commit.*
void register_commit_keys(config_registry& keys);
// stats_config.cpp: stats.*
void register_stats_keys(config_registry& keys);
// threads_config.cpp: threads.<role>.*
void register_thread_keys(config_registry& keys);
// routing.cpp: routing.*
void register_routing_keys(config_registry& keys);
// log_config.cpp: log.*
void register_log_keys(config_registry& keys);
// load_producer_config.cpp: loadgen.*
void register_loadgen_keys(config_registry& keys);
// run_config.cpp: run.*
void register_run_keys(config_registry& keys);

}  // namespace sluice
