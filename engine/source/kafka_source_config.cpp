// The keys the Kafka source reads: where it consumes from and how.
#include "config/config_modules.hpp"
#include "decode/trace_context.hpp"

namespace sluice {

void register_source_keys(config_registry& keys) {
    keys.add({"source", [](config_reader& r, settings& s) {
                  std::string source = "kafka";
                  r.str("source", source);
                  parse_source("source", source, s);
              }});
    keys.add({"kafka.bootstrap.servers", [](config_reader& r, settings& s) {
                  r.str("kafka.bootstrap.servers", s.bootstrap_servers);
                  if (s.bootstrap_servers.empty()) r.fail("kafka.bootstrap.servers", "must not be empty");
              }});
    keys.add({"kafka.group.id", [](config_reader& r, settings& s) {
                  r.str("kafka.group.id", s.group_id);
                  if (s.group_id.empty()) r.fail("kafka.group.id", "must not be empty");
              }});
    keys.add({"kafka.topics", [](config_reader& r, settings& s) {
                  r.strings("kafka.topics", s.topics);
                  if (s.topics.empty()) r.fail("kafka.topics", "must name at least one topic");
              }});
    keys.add({"kafka.trace.headers", [](config_reader& r, settings& s) {
                  const std::string key = "kafka.trace.headers";
                  s.trace_headers = default_trace_headers();
                  r.strings(key, s.trace_headers);
                  if (s.trace_headers.size() > max_trace_headers)
                      r.fail(key, "at most " + std::to_string(max_trace_headers) + " headers");
                  for (std::size_t i = 0; i < s.trace_headers.size(); ++i) {
                      if (s.trace_headers[i].empty()) r.fail(key, "a header name must not be empty");
                      for (std::size_t j = 0; j < i; ++j)
                          if (s.trace_headers[i] == s.trace_headers[j])
                              r.fail(key, "'" + s.trace_headers[i] + "' is listed twice");
                  }
              }});
    keys.add({"kafka.properties.", [](config_reader& r, settings& s) {
                  read_properties(r, "kafka.properties.", s.kafka_properties);
                  // sluice resolves start offsets itself (librdkafka gets "error"), so the
                  // reset policy is its own setting under librdkafka's name.
                  auto it = s.kafka_properties.find("auto.offset.reset");
                  if (it == s.kafka_properties.end()) return;
                  const std::string& v = it->second;
                  if (v == "earliest" || v == "smallest" || v == "beginning") s.offset_reset = offset_reset_policy::earliest;
                  else if (v == "latest" || v == "largest" || v == "end") s.offset_reset = offset_reset_policy::latest;
                  else r.fail("kafka.properties.auto.offset.reset", "expected earliest or latest (got '" + v + "')");
                  s.kafka_properties.erase(it);
              }});
}

}  // namespace sluice
