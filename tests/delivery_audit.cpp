// Delivery checks against what the broker holds: produced events, committed
// offsets, and what sinks (or their output files) saw.
#include "delivery_audit.hpp"

#include <librdkafka/rdkafka_mock.h>
#include <simdjson.h>

#include <stdexcept>

#include "kafka_test_support.hpp"
#include "sink_factory.hpp"

namespace sluice::testing {

std::vector<produced_event> read_produced(const std::string& bootstrap) {
    std::vector<produced_event> out;
    simdjson::dom::parser parser;
    for (const std::string& topic : seed_topics()) {
        for (const record& r : read_all(bootstrap, topic)) {
            produced_event e{{r.topic, r.partition, r.offset}, "", ""};
            simdjson::dom::element doc;
            if (!r.null_value && parser.parse(r.value).get(doc) == simdjson::SUCCESS && doc.is_object()) {
                std::string_view s;
                if (doc["event_type"].get(s) == simdjson::SUCCESS || doc["eventType"].get(s) == simdjson::SUCCESS)
                    e.type = s;
                if (doc["event_id"].get(s) == simdjson::SUCCESS) e.id = s;
                std::uint64_t user = 0;
                if (doc["userId"].get(user) == simdjson::SUCCESS) e.user_id = std::to_string(user);
            }
            out.push_back(std::move(e));
        }
    }
    return out;
}

std::vector<coord> routed_to(const std::vector<produced_event>& events, const std::string& sink) {
    const auto rules = seed_routes();
    std::vector<coord> out;
    for (const produced_event& e : events) {
        auto it = rules.find(e.type);
        if (it == rules.end()) it = rules.find("default");
        for (const std::string& s : it->second)
            if (s == sink) out.push_back(e.at);
    }
    return out;
}

audit check(const std::vector<coord>& expected, const sightings& seen, const offsets& floor) {
    audit a;
    a.expected = expected.size();
    for (const coord& c : expected) {
        const auto it = seen.find(c);
        if (it == seen.end()) {
            if (a.missing++ == 0)
                a.first_missing = c.topic + "/" + std::to_string(c.partition) + "@" + std::to_string(c.offset);
        } else {
            const auto extra = static_cast<std::size_t>(it->second - 1);
            a.duplicates += extra;
            const auto f = floor.find({c.topic, c.partition});
            if (extra && f != floor.end() && c.offset < f->second) a.duplicates_below_floor += extra;
        }
    }
    return a;
}

namespace {

// Forwards everything to the real sink; logs each event it is handed.
class logging_sink final : public sink {
public:
    logging_sink(std::unique_ptr<sink> inner, std::shared_ptr<sink_log> log, const partition_view* parts,
                 before_process_hook hook)
        : inner_(std::move(inner)), log_(std::move(log)), parts_(parts), hook_(std::move(hook)),
          name_(inner_->name()) {}
    std::string_view name() const noexcept override { return name_; }
    void process(event_slot& slot, std::uint32_t slot_index) override {
        if (hook_) hook_(name_);
        const partition_view& p = parts_[slot.partition];
        log_->saw(name_, {std::string(p.topic()), p.partition(), slot.offset});
        inner_->process(slot, slot_index);
    }
    void end_of_batch() override { inner_->end_of_batch(); }
    bool poll(std::int64_t now_ns) override { return inner_->poll(now_ns); }
    void stop() override { inner_->stop(); }
    bool idle() const noexcept override { return inner_->idle(); }
    std::string live_json() const override { return inner_->live_json(); }

private:
    std::unique_ptr<sink> inner_;
    std::shared_ptr<sink_log> log_;
    const partition_view* parts_;
    before_process_hook hook_;
    std::string name_;
};

}  // namespace

sink_factory logging_seed_sinks(std::shared_ptr<sink_log> log, before_process_hook hook) {
    return [log, hook](const std::string& name, const settings& cfg, const std::string& bootstrap, flow& f,
                       sink_context& ctx) -> std::unique_ptr<sink> {
        return std::make_unique<logging_sink>(make_seed_sink(name, cfg, bootstrap, f, ctx), log, ctx.partitions,
                                              hook);
    };
}

logged_pipeline::logged_pipeline(std::string bootstrap, std::string group_id, std::vector<std::string> extra,
                                 before_process_hook hook)
    : dir(temp_dir()), b(std::move(bootstrap)), group(std::move(group_id)) {
    std::vector<std::string> sets = {
        "kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"" + group + "\"",
        "stats.socket=\"" + dir + "/s.sock\"", "sinks.enrichment.output=\"none\"",
        "sinks.notification.output=\"none\"", "sinks.analytics.output=\"none\"", "commit.interval.ms=50",
        // Quick rejoin on the embedded broker (engine/README.md, The embedded
        // broker, as tests meet it).
        "kafka.properties.\"session.timeout.ms\"=6000"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    p = std::make_unique<pipeline>(test_settings(std::move(sets)), logging_seed_sinks(log, std::move(hook)),
                                   seed_schema());
    p->start();
}

bool logged_pipeline::assigned(std::chrono::milliseconds timeout) {
    return wait_until([&] { return p->metrics().source.assigned_partitions.get() > 0; }, timeout);
}

std::map<std::string, int> held_output::topics(std::map<std::string, int> inputs) {
    inputs["held.out"] = 1;
    return inputs;
}

held_output::held_output(embedded_broker& broker, const std::string& group) : broker_(broker) {
    auto check = [](rd_kafka_resp_err_t err, const std::string& what) {
        if (err) throw std::runtime_error("held_output: " + what + ": " + rd_kafka_err2str(err));
    };
    for (const auto& [topic, parts] : broker.topics())
        for (int i = 0; i < parts; ++i)
            check(rd_kafka_mock_partition_set_leader(broker.cluster(), topic.c_str(), i, topic == "held.out" ? 2 : 1),
                  "leader of " + topic);
    check(rd_kafka_mock_coordinator_set(broker.cluster(), "group", group.c_str(), 1), "coordinator of " + group);
}

std::vector<std::string> held_output::settings(const std::vector<std::string>& types) const {
    std::vector<std::string> sets = {"sinks.enrichment.output=\"kafka:held.out\""};
    for (const std::string& t : types) sets.push_back("routing.\"" + t + "\"=[\"enrichment\"]");
    return sets;
}

void held_output::hold(bool held) {
    const rd_kafka_resp_err_t err =
        held ? rd_kafka_mock_broker_set_down(broker_.cluster(), 2) : rd_kafka_mock_broker_set_up(broker_.cluster(), 2);
    if (err) throw std::runtime_error(std::string("held_output: broker 2 ") + (held ? "down" : "up") + ": " +
                                      rd_kafka_err2str(err));
}

void held_output::slow(int rtt_ms) {
    if (const rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(broker_.cluster(), 2, rtt_ms))
        throw std::runtime_error(std::string("held_output: broker 2 rtt: ") + rd_kafka_err2str(err));
}

sightings enriched_sources(const std::vector<std::string>& lines) {
    sightings seen;
    simdjson::dom::parser parser;
    for (const std::string& line : lines) {
        simdjson::dom::element doc;
        if (parser.parse(line).get(doc) != simdjson::SUCCESS) continue;  // a torn last line after kill -9
        std::string_view topic;
        std::int64_t partition = 0, offset = 0;
        if (doc["source"]["topic"].get(topic) || doc["source"]["partition"].get(partition) ||
            doc["source"]["offset"].get(offset))
            continue;
        ++seen[{std::string(topic), static_cast<std::int32_t>(partition), offset}];
    }
    return seen;
}

std::string committed_prefix_seen(const std::string& bootstrap, const std::string& group,
                                  const std::vector<produced_event>& events, const std::string& sink,
                                  const std::function<sightings()>& seen_now) {
    // Committed first, sightings after: anything seen by then was seen before
    // the commit could matter.
    const auto committed = committed_offsets(bootstrap, group, seed_topics());
    const sightings seen = seen_now();
    for (const coord& c : routed_to(events, sink)) {
        const auto it = committed.find({c.topic, c.partition});
        if (it == committed.end() || c.offset >= it->second) continue;
        if (!seen.count(c))
            return "offset " + std::to_string(it->second) + " committed on " + c.topic + "/" +
                   std::to_string(c.partition) + " but offset " + std::to_string(c.offset) + " never reached " + sink;
    }
    return "";
}

}  // namespace sluice::testing
