// Parses librdkafka's statistics JSON (simdjson) into Prometheus text.
#include "kafka/kafka_statistics.hpp"
#include "stats/prometheus_text.hpp"

#include <simdjson.h>

#include <cstdio>
#include <vector>

namespace sluice {

namespace {

int stats_cb(rd_kafka_t* rk, char* json, std::size_t len, void*) {
    kafka_statistics::instance().store(rd_kafka_name(rk), json, len);
    return 0;  // librdkafka frees json
}

// Collects samples per metric so each gets one HELP/TYPE header.
class families {
public:
    void add(const char* name, const char* type, const char* help, const std::string& labels, double v) {
        family& f = by_name_[name];
        f.type = type;
        f.help = help;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        f.samples += std::string(name) + "{" + labels + "} " + buf + "\n";
    }
    void write(std::string& out) const {
        for (const auto& [name, f] : by_name_)
            out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n" + f.samples;
    }

private:
    struct family {
        std::string type, help, samples;
    };
    std::map<std::string, family> by_name_;
};

double num(simdjson::dom::element e, const char* key) {
    double d = 0;
    std::int64_t i = 0;
    if (!e[key].get(i)) return static_cast<double>(i);
    if (!e[key].get(d)) return d;
    return 0;
}

void client_metrics(families& fam, const std::string& client, simdjson::dom::element doc) {
    std::string_view type = "unknown";
    if (doc["type"].get(type)) type = "unknown";
    const std::string cl = "client=\"" + escape_label(client) + "\"";
    fam.add("sluice_kafka_replyq", "gauge", "Operations (callbacks, events) waiting in librdkafka's reply queue.",
            cl + ",type=\"" + escape_label(type) + "\"", num(doc, "replyq"));
    fam.add("sluice_kafka_queued_messages", "gauge", "Messages in librdkafka's producer queues.", cl, num(doc, "msg_cnt"));
    fam.add("sluice_kafka_queued_bytes", "gauge", "Bytes of messages in librdkafka's producer queues.", cl,
            num(doc, "msg_size"));
    fam.add("sluice_kafka_tx_bytes_total", "counter", "Bytes sent to brokers.", cl, num(doc, "tx_bytes"));
    fam.add("sluice_kafka_rx_bytes_total", "counter", "Bytes received from brokers.", cl, num(doc, "rx_bytes"));
    simdjson::dom::object brokers;
    if (!doc["brokers"].get(brokers)) {
        for (auto [name, b] : brokers) {
            std::int64_t nodeid = -1;
            if (!b["nodeid"].get(nodeid) && nodeid < 0) continue;  // bootstrap entries, replaced by the real ones
            const std::string bl = cl + ",broker=\"" + escape_label(name) + "\"";
            std::string_view state;
            if (b["state"].get(state)) state = "";
            fam.add("sluice_kafka_broker_up", "gauge", "1 while the connection to the broker is up.", bl,
                    state == "UP" ? 1 : 0);
            fam.add("sluice_kafka_broker_outbuf_requests", "gauge", "Requests waiting to be sent to the broker.", bl,
                    num(b, "outbuf_cnt"));
            fam.add("sluice_kafka_broker_waitresp_requests", "gauge", "Requests sent, waiting for the broker's response.",
                    bl, num(b, "waitresp_cnt"));
            fam.add("sluice_kafka_broker_request_timeouts_total", "counter", "Requests to the broker that timed out.", bl,
                    num(b, "req_timeouts"));
            simdjson::dom::element rtt, throttle;
            if (!b["rtt"].get(rtt)) {
                // librdkafka reports round trips in microseconds over the last interval.
                fam.add("sluice_kafka_broker_rtt_seconds", "summary", "Broker round-trip time over the last statistics interval (quantiles only).",
                        bl + ",quantile=\"0.5\"", num(rtt, "p50") / 1e6);
                fam.add("sluice_kafka_broker_rtt_seconds", "summary", "Broker round-trip time over the last statistics interval (quantiles only).",
                        bl + ",quantile=\"0.99\"", num(rtt, "p99") / 1e6);
            }
            if (!b["throttle"].get(throttle))  // milliseconds
                fam.add("sluice_kafka_broker_throttle_seconds", "gauge", "Mean broker throttle time over the last statistics interval.",
                        bl, num(throttle, "avg") / 1e3);
        }
    }
    if (type != "consumer") return;
    simdjson::dom::element cgrp;
    if (!doc["cgrp"].get(cgrp)) {
        fam.add("sluice_kafka_group_rebalances_total", "counter", "Rebalances of the consumer group seen by this client.", cl,
                num(cgrp, "rebalance_cnt"));
        fam.add("sluice_kafka_group_assigned_partitions", "gauge", "Partitions assigned to this client.", cl,
                num(cgrp, "assignment_size"));
    }
    simdjson::dom::object topics;
    if (doc["topics"].get(topics)) return;
    for (auto [topic, t] : topics) {
        simdjson::dom::object parts;
        if (t["partitions"].get(parts)) continue;
        for (auto [pname, p] : parts) {
            std::int64_t id = -1;
            if (p["partition"].get(id) || id < 0) continue;  // -1: librdkafka's internal "unassigned" partition
            bool fetching = false;
            std::string_view fetch_state;
            if (!p["fetch_state"].get(fetch_state)) fetching = fetch_state != "none";
            if (!fetching) continue;
            const std::string pl = cl + ",topic=\"" + escape_label(topic) + "\",partition=\"" + std::to_string(id) + "\"";
            fam.add("sluice_kafka_partition_fetchq_messages", "gauge", "Messages fetched and waiting in librdkafka's queue.", pl,
                    num(p, "fetchq_cnt"));
            fam.add("sluice_kafka_partition_consumer_lag", "gauge", "librdkafka's view of the partition lag (messages).", pl,
                    num(p, "consumer_lag"));
        }
    }
}

}  // namespace

kafka_statistics& kafka_statistics::instance() {
    static kafka_statistics s;
    return s;
}

void kafka_statistics::prepare(const char* client) {
    std::lock_guard lock(mu_);
    auto& slot = latest_[client ? client : ""];
    slot.reserve(initial_capacity);
}

void kafka_statistics::store(const char* client, const char* json, std::size_t len) {
    std::lock_guard lock(mu_);
    auto it = latest_.find(std::string_view(client ? client : ""));
    if (it == latest_.end()) it = latest_.emplace(client ? client : "", std::string()).first;  // not prepared
    if (it->second.capacity() < len) it->second.reserve(len * 2);  // grows rarely, never per interval
    it->second.assign(json, len);
}

void kafka_statistics::append_prometheus(std::string& out) const {
    decltype(latest_) copy;
    {
        std::lock_guard lock(mu_);
        copy = latest_;
    }
    families fam;
    simdjson::dom::parser parser;
    for (const auto& [client, json] : copy) {
        simdjson::dom::element doc;
        if (parser.parse(json).get(doc)) continue;
        client_metrics(fam, client, doc);
    }
    fam.write(out);
}

void collect_kafka_statistics(rd_kafka_conf_t* conf) noexcept { rd_kafka_conf_set_stats_cb(conf, stats_cb); }

}  // namespace sluice
