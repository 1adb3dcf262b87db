// Kafka outputs on the embedded broker with the in-flight bounds hit:
// deliveries slow (the output broker answers 200 ms late) or failing for one
// record. Checked from the outside: what the output topics hold, the group's
// committed offsets, the dead-letter topic, and the stats gauges of what is
// unconfirmed.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "delivery_audit.hpp"
#include "kafka/embedded_broker.hpp"
#include "kafka/kafka_handles.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"

using namespace sluice;
using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int16_t api_produce = 0;  // Kafka protocol ApiKey

// Small bounds, so that a slow or failing output reaches them. ring.size is
// small too: events dispatched into the sink rings add their output records
// to the bytes only when the sinks render them (see bytes_slack).
constexpr std::size_t ring_size = 32;
constexpr std::size_t max_events = 512;
constexpr std::size_t max_bytes = 1 << 20;
// Threads that finish events: the three sinks and the commit thread. An
// event is counted as finished just after its entry is freed, so the gauge
// may read up to one event per such thread above the bound.
constexpr std::size_t releasing_threads = 4;
// The source checks the bytes bound every this many dispatches while under it.
constexpr std::size_t bytes_check_every = 32;

const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string task(int id, int seq, const std::string& title_pad = "") {
    return R"({"eventType":"task.updated","taskId":)" + std::to_string(id) +
           R"(,"teamId":1,"actorId":2,"creatorId":1,"assigneeId":3,"timestamp":"2025-08-25T22:00:05.574Z","payload":{"title":"s)" +
           std::to_string(seq) + title_pad + "\"}}";
}

// Its actor created it and nobody is assigned: nobody is notified.
std::string unnotified_task(int id, int seq) {
    return R"({"eventType":"task.updated","taskId":)" + std::to_string(id) +
           R"(,"teamId":1,"actorId":1,"creatorId":1,"assigneeId":null,"timestamp":"2025-08-25T22:00:05.574Z","payload":{"title":"s)" +
           std::to_string(seq) + "\"}}";
}

// Every topic with partitions led by broker 1 except those `on_second` says.
void place_leaders(embedded_broker& broker, const std::function<bool(const std::string&, int)>& on_second) {
    for (const auto& [topic, parts] : broker.topics())
        for (int i = 0; i < parts; ++i)
            ASSERT_EQ(rd_kafka_mock_partition_set_leader(broker.cluster(), topic.c_str(), i, on_second(topic, i) ? 2 : 1),
                      RD_KAFKA_RESP_ERR_NO_ERROR);
}

std::vector<std::string> base_settings(const std::string& b, const std::string& group, const std::string& dir) {
    return {"kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"" + group + "\"",
            "stats.socket=\"" + dir + "/s.sock\"", "commit.interval.ms=50",
            // The directory is left out: its updates would race the events
            // it joins, and the outputs would depend on the timing.
            "sinks.enrichment.directory.topic=\"\"", "sinks.analytics.output=\"none\"",
            "pipeline.ring.size=" + std::to_string(ring_size),
            "pipeline.unconfirmed.max.bytes=" + std::to_string(max_bytes)};
}

struct gauges {
    std::uint64_t events = 0, bytes = 0;
};

// The source's unconfirmed_events and unconfirmed_bytes from the stats socket.
bool read_gauges(const std::string& socket, gauges& g) {
    const std::string answer = ask_stats(socket, "stats");
    const auto at = answer.find('{');
    if (at == std::string::npos) return false;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.substr(at)).get(doc)) return false;
    return doc["source"]["unconfirmed_events"].get(g.events) == simdjson::SUCCESS &&
           doc["source"]["unconfirmed_bytes"].get(g.bytes) == simdjson::SUCCESS;
}

// Samples the gauges until stopped. Each sample is the smaller of two reads
// in a row: a read is a sum of counters loaded one after another, and a
// reader descheduled between the loads overstates the moment; a bound that
// is really exceeded shows in both.
struct gauge_sampler {
    std::string socket;
    std::atomic<bool> stop{false};
    std::mutex mu;
    gauges max;     // over the whole run
    gauges latest;  // the last sample
    std::size_t samples = 0;
    std::thread t;
    explicit gauge_sampler(std::string s) : socket(std::move(s)) {
        t = std::thread([this] {
            while (!stop.load()) {
                gauges a, b;
                if (read_gauges(socket, a) && read_gauges(socket, b)) {
                    std::lock_guard lock(mu);
                    latest = {std::min(a.events, b.events), std::min(a.bytes, b.bytes)};
                    max.events = std::max(max.events, latest.events);
                    max.bytes = std::max(max.bytes, latest.bytes);
                    ++samples;
                }
                std::this_thread::sleep_for(5ms);
            }
        });
    }
    gauges last() {
        std::lock_guard lock(mu);
        return latest;
    }
    void finish() {
        stop = true;
        t.join();
    }
};

// The slow broker answers 200 ms late, or holds every answer until let go
// (an RTT of an hour) and then answers at once. A hold makes the source run
// into a bound however fast or loaded the machine is; 200 ms alone lets it
// run only as far ahead as it dispatches in 200 ms. Not 200 ms again after a
// hold: librdkafka 2.0.2's mock keeps the write timer a delayed answer armed
// (one hour) when the RTT changes, so later delayed answers would wait for it.
// A hold lasts less than 10 s: the commit sampler's reads of enriched.events
// (led by the held broker) take it for a failure after that, and records
// held for longer approach the outputs' 30 s message timeout.
constexpr int slow_rtt_ms = 200, hold_rtt_ms = 3600 * 1000;
constexpr auto hold_at_most = 8s;

// A consumer that follows a topic from its beginning: catch_up() reads every
// record appended before the call.
class topic_follower {
public:
    topic_follower(const std::string& bootstrap, std::string topic, int partitions)
        : topic_(std::move(topic)), partitions_(partitions) {
        kafka_config conf;
        conf.set("bootstrap.servers", bootstrap);
        conf.set("group.id", "delivery-bounds-follower");
        conf.set("enable.auto.commit", "false");
        conf.set("fetch.wait.max.ms", "10");
        rk_ = conf.make(RD_KAFKA_CONSUMER);
        partition_list list(rd_kafka_topic_partition_list_new(partitions));
        for (int p = 0; p < partitions; ++p)
            rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk_.get(), list.get());
        next_.assign(partitions, 0);
    }
    ~topic_follower() { rd_kafka_consumer_close(rk_.get()); }

    // False if the end offsets could not be read or not reached in 30 s.
    bool catch_up() {
        partition_list ends(rd_kafka_topic_partition_list_new(partitions_));
        for (int p = 0; p < partitions_; ++p)
            rd_kafka_topic_partition_list_add(ends.get(), topic_.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
        if (rd_kafka_offsets_for_times(rk_.get(), ends.get(), 10000)) return false;
        std::vector<std::int64_t> end(partitions_);
        for (int i = 0; i < ends->cnt; ++i) {
            if (ends->elems[i].err) return false;
            end[ends->elems[i].partition] = ends->elems[i].offset;
        }
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        auto behind = [&] {
            for (int p = 0; p < partitions_; ++p)
                if (next_[p] < end[p]) return true;
            return false;
        };
        while (behind()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
            if (!m) continue;
            if (!m->err) {
                values_.emplace_back(static_cast<const char*>(m->payload), m->len);
                next_[m->partition] = m->offset + 1;
            }
            rd_kafka_message_destroy(m);
        }
        return true;
    }
    const std::vector<std::string>& values() const noexcept { return values_; }

private:
    std::string topic_;
    int partitions_;
    kafka_handle rk_;
    std::vector<std::int64_t> next_;
    std::vector<std::string> values_;
};

// Samples the group's committed offsets until stopped: every event routed to
// enrichment below a committed offset must have its record in
// enriched.events already (the records carry their event's source
// coordinates). The committed offsets are read first, then the output topic
// up to its end at that later moment.
struct commit_sampler {
    std::string b, group;
    std::mutex mu;
    std::vector<produced_event> events;  // those produced so far
    std::atomic<bool> stop{false};
    std::vector<std::string> violations;
    std::size_t samples = 0, checked = 0;  // checked: events below a committed offset, summed over samples
    std::thread t;

    commit_sampler(std::string bootstrap, std::string g) : b(std::move(bootstrap)), group(std::move(g)) {
        t = std::thread([this] {
            topic_follower out(b, "enriched.events", 3);
            while (!stop.load()) {
                std::vector<produced_event> now;
                {
                    std::lock_guard lock(mu);
                    now = events;
                }
                std::map<std::pair<std::string, int>, std::int64_t> committed;
                try {
                    committed = committed_offsets(b, group, seed_topics());
                } catch (const std::exception&) {
                    continue;  // the coordinator did not answer in time: the next sample
                }
                if (!out.catch_up()) {
                    violations.push_back("enriched.events could not be read to its end");
                    break;
                }
                const sightings seen = enriched_sources(out.values());
                for (const coord& c : routed_to(now, "enrichment")) {
                    const auto it = committed.find({c.topic, c.partition});
                    if (it == committed.end() || c.offset >= it->second) continue;
                    ++checked;
                    if (!seen.count(c))
                        violations.push_back("offset " + std::to_string(it->second) + " committed on " + c.topic + "/" +
                                             std::to_string(c.partition) + " before the record of offset " +
                                             std::to_string(c.offset) + " was in enriched.events");
                }
                ++samples;
                std::this_thread::sleep_for(20ms);
            }
        });
    }
    void set_events(std::vector<produced_event> e) {
        std::lock_guard lock(mu);
        events = std::move(e);
    }
    void finish() {
        stop = true;
        t.join();
    }
};

std::multiset<std::pair<std::string, std::string>> keys_and_values(const std::vector<record>& records) {
    std::multiset<std::pair<std::string, std::string>> out;
    for (const record& r : records) out.emplace(r.key, r.value);
    return out;
}

std::size_t largest(const std::vector<record>& records) {
    std::size_t n = 0;
    for (const record& r : records) n = std::max(n, r.key.size() + r.value.size());
    return n;
}

}  // namespace

// Enrichment and notification write to Kafka topics led by a broker that
// answers every request 200 ms late; the inputs and the group live on a
// second, prompt broker. First a backlog of the seed systems' mixed events;
// then, while the slow broker holds its answers, small task events (the
// pipeline reaches pipeline.unconfirmed.max.events and waits for
// deliveries) and task events with 2 KB titles, several KB of records each
// (it reaches .max.bytes and waits). While it runs, no committed offset is
// ever ahead of an enrichment record, and the gauges of what is unconfirmed
// stay within the bounds. Afterwards each output topic holds exactly the
// records a run on a prompt broker writes (same keys and values, none
// missing, none twice), and each enrichment record once per event.
TEST(DeliveryBounds, SlowBrokerEverythingOnceCommitsBehindConfirmedWithinBounds) {
    std::map<std::string, int> topics = load_settings("", {}).broker_topics();
    topics["ref.enriched"] = 3;
    topics["ref.outbox"] = 3;
    embedded_broker broker(2, topics);
    const std::string b = broker.bootstraps();
    place_leaders(broker, [](const std::string& t, int) { return t == "enriched.events" || t == "notifications.outbox"; });
    ASSERT_EQ(rd_kafka_mock_coordinator_set(broker.cluster(), "group", "slow", 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_mock_coordinator_set(broker.cluster(), "group", "reference", 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    auto set_rtt = [&](int ms) { return rd_kafka_mock_broker_set_rtt(broker.cluster(), 2, ms); };
    ASSERT_EQ(set_rtt(slow_rtt_ms), RD_KAFKA_RESP_ERR_NO_ERROR);
    // Inputs produced during a hold go through broker 1 alone: a client
    // asking the held broker for metadata would wait for the hold's end.
    // The mock lists its brokers by id.
    const std::string broker1 = b.substr(0, b.find(','));

    constexpr std::size_t mixed = 3000, small = max_events + 100, big = 800;
    produce(b, seed_records(mixed, 15));
    const std::string dir = temp_dir();
    std::vector<std::string> sets = base_settings(b, "slow", dir);
    sets.push_back("pipeline.unconfirmed.max.events=" + std::to_string(max_events));
    sets.push_back("sinks.enrichment.output=\"kafka:enriched.events\"");
    sets.push_back("sinks.notification.output=\"kafka:notifications.outbox\"");
    pipeline p(test_settings(sets), make_seed_sink, seed_schema());
    p.start();

    commit_sampler commits(b, "slow");
    commits.set_events(read_produced(b));
    gauge_sampler gauge(dir + "/s.sock");
    ASSERT_TRUE(committed_to_end(b, "slow", 120s)) << "the mixed backlog was not committed to its end";

    // Each small event has an enrichment record and no notification, so none
    // is confirmed while held and the bytes stay far below their bound: the
    // source takes exactly max_events of them, then waits.
    std::vector<record> smalls;
    for (std::size_t i = 0; i < small; ++i)
        smalls.push_back({"task.updated", -1, 0, std::to_string(9000 + i), unnotified_task(9000 + int(i), int(i))});
    ASSERT_EQ(set_rtt(hold_rtt_ms), RD_KAFKA_RESP_ERR_NO_ERROR);
    produce(broker1, smalls);
    const bool events_reached = wait_until([&] { return gauge.last().events >= max_events; }, hold_at_most);
    const gauges held_small = gauge.last();
    ASSERT_EQ(set_rtt(0), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(events_reached) << "the events bound was reached: " << held_small.events << " unconfirmed events, "
                                << held_small.bytes << " bytes";
    commits.set_events(read_produced(b));
    ASSERT_TRUE(committed_to_end(b, "slow", 120s)) << "the small events were not committed to their end";

    std::vector<record> bigs;
    const std::string pad(2000, 'x');
    for (std::size_t i = 0; i < big; ++i)  // each its own task: the notification sink deduplicates by task and time
        bigs.push_back({"task.updated", -1, 0, std::to_string(5000 + i), task(5000 + int(i), int(i), pad)});
    ASSERT_EQ(set_rtt(hold_rtt_ms), RD_KAFKA_RESP_ERR_NO_ERROR);
    produce(broker1, bigs);
    const bool bytes_reached = wait_until([&] { return gauge.last().bytes >= max_bytes; }, hold_at_most);
    const gauges held_big = gauge.last();
    ASSERT_EQ(set_rtt(0), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_TRUE(bytes_reached) << "the bytes bound was reached: " << held_big.events << " unconfirmed events, "
                               << held_big.bytes << " bytes";
    EXPECT_LT(held_big.events, max_events) << "the bytes bound, not the events bound, held the large events";
    commits.set_events(read_produced(b));
    ASSERT_TRUE(committed_to_end(b, "slow", 120s)) << "the large events were not committed to their end";
    commits.finish();
    gauge.finish();
    p.stop();
    ASSERT_EQ(rd_kafka_mock_broker_set_rtt(broker.cluster(), 2, 0), RD_KAFKA_RESP_ERR_NO_ERROR);

    // Committed offsets behind confirmed records, at every sample.
    EXPECT_GT(commits.samples, 2u);
    EXPECT_GT(commits.checked, 0u) << "the samples saw committed offsets";
    EXPECT_TRUE(commits.violations.empty()) << commits.violations.size() << " violations, first: "
                                            << commits.violations.front();

    // The bounds were reached, and held.
    const pipeline_metrics& m = p.metrics();
    EXPECT_GT(m.source.waits_for_delivery.get(), 0u) << "the source waited for deliveries";
    EXPECT_GT(gauge.samples, 10u);
    std::printf("unconfirmed max: %llu events, %llu bytes over %zu samples; %llu waits for delivery, %llu for a slot\n",
                static_cast<unsigned long long>(gauge.max.events), static_cast<unsigned long long>(gauge.max.bytes),
                gauge.samples, static_cast<unsigned long long>(m.source.waits_for_delivery.get()),
                static_cast<unsigned long long>(m.source.waits_for_slot.get()));
    std::printf("held: %llu events, %llu bytes at the events bound; %llu events, %llu bytes at the bytes bound\n",
                static_cast<unsigned long long>(held_small.events), static_cast<unsigned long long>(held_small.bytes),
                static_cast<unsigned long long>(held_big.events), static_cast<unsigned long long>(held_big.bytes));
    EXPECT_LE(gauge.max.events, max_events + releasing_threads);
    EXPECT_LT(held_small.bytes, max_bytes) << "the events bound, not the bytes bound, held the small events";

    const std::vector<produced_event> events = read_produced(b);
    ASSERT_EQ(events.size(), mixed + small + big);
    const std::vector<record> enriched = read_all(b, "enriched.events");
    const std::vector<record> outbox = read_all(b, "notifications.outbox");

    // Each event routed to enrichment has exactly one record.
    std::vector<std::string> values;
    for (const record& r : enriched) values.push_back(r.value);
    const audit a = check(routed_to(events, "enrichment"), enriched_sources(values));
    EXPECT_GT(a.expected, big);
    EXPECT_EQ(a.missing, 0u) << a.first_missing;
    EXPECT_EQ(a.duplicates, 0u);
    EXPECT_EQ(enriched.size(), a.expected) << "no record of an event not routed to enrichment";

    // The same events through a pipeline whose outputs are on the prompt broker.
    {
        const std::string ref_dir = temp_dir();
        std::vector<std::string> ref = base_settings(b, "reference", ref_dir);
        ref.push_back("sinks.enrichment.output=\"kafka:ref.enriched\"");
        ref.push_back("sinks.notification.output=\"kafka:ref.outbox\"");
        pipeline r(test_settings(ref), make_seed_sink, seed_schema());
        r.start();
        ASSERT_TRUE(committed_to_end(b, "reference", 120s));
        r.stop();
    }
    const std::vector<record> ref_enriched = read_all(b, "ref.enriched");
    const std::vector<record> ref_outbox = read_all(b, "ref.outbox");
    EXPECT_EQ(enriched.size(), ref_enriched.size());
    EXPECT_TRUE(keys_and_values(enriched) == keys_and_values(ref_enriched)) << "enriched.events differs from the reference";
    EXPECT_GT(ref_outbox.size(), 2 * big - 1) << "two notifications per large task event at least";
    EXPECT_EQ(outbox.size(), ref_outbox.size());
    EXPECT_TRUE(keys_and_values(outbox) == keys_and_values(ref_outbox)) << "notifications.outbox differs from the reference";

    // The bytes bound, with what it cannot see: the source checks it every
    // bytes_check_every dispatches, and an event's output records count
    // only once its sinks render them, so up to ring.size events already in
    // the sink rings add theirs after the check. One event's share is at
    // most its input, its enrichment record and two notifications.
    std::size_t input = 0;
    for (const std::string& t : seed_topics()) input = std::max(input, largest(read_all(b, t)));
    const std::size_t per_event = input + largest(enriched) + 2 * largest(outbox);
    const std::size_t bytes_slack = (ring_size + bytes_check_every + releasing_threads) * per_event;
    std::printf("bytes slack: %zu events of at most %zu bytes\n", ring_size + bytes_check_every + releasing_threads,
                per_event);
    EXPECT_LE(gauge.max.bytes, max_bytes + bytes_slack);
}

// One record's delivery fails for good while other events keep flowing.
// enriched.events/0 is led by broker 2, whose every Produce answer is
// INVALID_RECORD; the other partitions, the inputs and the dead-letter
// topics are on broker 1. Only one task id's records go to partition 0: the
// event of that id is retried with backoff, and meanwhile exactly the
// events the bound allows (pipeline.unconfirmed.max.events - 1 after it) are
// dispatched and confirmed, its partition's commit stays below it, and the
// source waits. Then the retry budget is lowered (a reload): the next
// failure dead-letters the event with its original key, bytes and trace
// header, its offset is committed, and every other event flows through the
// turning pool, its record in enriched.events exactly once.
TEST(DeliveryBounds, PermanentFailureOfOneRecordDeadLettersItWhileOthersFlow) {
    constexpr std::size_t bound = 128;
    embedded_broker broker(2, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    place_leaders(broker, [](const std::string& t, int part) { return t == "enriched.events" && part == 0; });
    ASSERT_EQ(rd_kafka_mock_coordinator_set(broker.cluster(), "group", "one-fails", 1), RD_KAFKA_RESP_ERR_NO_ERROR);

    // Task ids by the partition librdkafka's default partitioner
    // (consistent_random: CRC32 of the key) gives their records.
    auto partition_of = [](const std::string& key) {
        return rd_kafka_msg_partitioner_consistent_random(nullptr, key.data(), key.size(), 3, nullptr, nullptr);
    };
    int failing = 0;
    std::vector<int> others;
    for (int id = 1000; failing == 0 || others.size() < 20; ++id) {
        if (partition_of(std::to_string(id)) == 0) {
            if (failing == 0) failing = id;
        } else if (others.size() < 20) {
            others.push_back(id);
        }
    }
    auto other_events = [&](int n, int first_seq) {
        std::vector<record> out;
        for (int i = 0; i < n; ++i) {
            const int id = others[static_cast<std::size_t>(i) % others.size()];
            out.push_back({"task.updated", -1, 0, std::to_string(id), task(id, first_seq + i)});
        }
        return out;
    };

    const std::string dir = temp_dir();
    std::vector<std::string> sets = base_settings(b, "one-fails", dir);
    sets.insert(sets.end(), {"pipeline.unconfirmed.max.events=" + std::to_string(bound),
                             "sinks.enrichment.output=\"kafka:enriched.events\"", "sinks.notification.output=\"none\"",
                             // 100 attempts spaced up to 3 s: the stuck phase outlasts
                             // this test's own produce and read-back, even under ASan.
                             "sinks.retry.backoff.ms=500", "sinks.retry.backoff.max.ms=3000"});
    sets.push_back("sinks.retry.max.attempts=100");  // lowered by a reload below
    pipeline p(test_settings(sets), make_seed_sink, seed_schema());
    p.start();
    sink_metrics& enrichment = p.metrics().sinks[0];
    ASSERT_EQ(p.metrics().sink_names[0], "enrichment");

    constexpr std::size_t warm = 200, after = 3000;
    produce(b, other_events(warm, 0));
    ASSERT_TRUE(wait_until([&] { return enrichment.processed.get() == warm; }, 60s));
    for (int i = 0; i < 150; ++i)  // more than the 100 attempts allowed
        ASSERT_EQ(rd_kafka_mock_broker_push_request_error_rtts(broker.cluster(), 2, api_produce, 1,
                                                               RD_KAFKA_RESP_ERR_INVALID_RECORD, 0),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    const std::string failing_value = task(failing, 0);
    produce(b, {{"task.updated", -1, 0, std::to_string(failing), failing_value, false, {{"traceparent", traceparent}}}});
    // Taken before the others: they spread over three partitions, and the
    // consumer may be handed whole partitions of them ahead of its own.
    const pipeline_metrics& m = p.metrics();
    ASSERT_TRUE(wait_until([&] { return m.source.consumed.get() == warm + 1; }, 60s));
    produce(b, other_events(after, 1000));
    coord failed_at;
    for (const record& r : read_all(b, "task.updated"))
        if (r.key == std::to_string(failing)) failed_at = {r.topic, r.partition, r.offset};
    ASSERT_EQ(failed_at.topic, "task.updated");

    // Stuck: the failing event and the bound - 1 events after it are
    // dispatched, those others are confirmed, and nothing more.
    ASSERT_TRUE(wait_until([&] { return enrichment.processed.get() == warm + bound - 1 && enrichment.retried.get() >= 2; },
                           60s))
        << "processed " << enrichment.processed.get() << ", retried " << enrichment.retried.get();
    const std::uint64_t retried = enrichment.retried.get();
    ASSERT_TRUE(wait_until([&] { return enrichment.retried.get() >= retried + 2; }, 30s)) << "it keeps being retried";
    const auto committed = committed_offsets(b, "one-fails", {"task.updated"});
    EXPECT_EQ(enrichment.dead_lettered.get(), 0u) << "not yet dead-lettered";
    EXPECT_EQ(enrichment.processed.get(), warm + bound - 1) << "no event beyond the bound was finished";
    EXPECT_EQ(m.source.consumed.get(), warm + bound) << "the source took no event beyond the bound";
    EXPECT_GT(m.source.waits_for_delivery.get(), 0u);
    EXPECT_LE(committed.at({failed_at.topic, failed_at.partition}), failed_at.offset)
        << "its partition is not committed past the unconfirmed event";

    // Out of attempts at the next failure.
    std::vector<std::string> fewer = sets;
    fewer.push_back("sinks.retry.max.attempts=1");
    p.reload(test_settings(fewer));
    ASSERT_TRUE(committed_to_end(b, "one-fails", 60s)) << "the offsets advanced past the dead-lettered event";
    p.stop();

    EXPECT_EQ(enrichment.dead_lettered.get(), 1u);
    EXPECT_EQ(enrichment.failed.get(), 1u);
    EXPECT_GE(enrichment.retried.get(), retried + 2);
    EXPECT_EQ(enrichment.processed.get(), warm + after) << "every other event finished";
    EXPECT_EQ(m.source.consumed.get(), warm + 1 + after) << "each event taken once";

    const std::vector<record> dlq = read_all(b, "task.updated.dlq");
    ASSERT_EQ(dlq.size(), 1u);
    const record& d = dlq[0];
    EXPECT_EQ(d.key, std::to_string(failing));
    EXPECT_EQ(d.value, failing_value) << "the original bytes";
    EXPECT_EQ(d.headers.count("traceparent") ? d.headers.at("traceparent") : "", traceparent);
    EXPECT_EQ(d.headers.count("sluice.sink") ? d.headers.at("sluice.sink") : "", "enrichment");
    EXPECT_EQ(d.headers.count("sluice.source.offset") ? d.headers.at("sluice.source.offset") : "",
              std::to_string(failed_at.offset));
    EXPECT_EQ(d.headers.count("sluice.source.partition") ? d.headers.at("sluice.source.partition") : "",
              std::to_string(failed_at.partition));
    EXPECT_GE(std::stoul(d.headers.count("sluice.attempt_count") ? d.headers.at("sluice.attempt_count") : "0"),
              retried + 3);

    // Every other event's record once; none of the failing one.
    std::vector<std::string> values;
    std::size_t failing_records = 0;
    for (const record& r : read_all(b, "enriched.events")) {
        values.push_back(r.value);
        failing_records += r.key == std::to_string(failing);
    }
    EXPECT_EQ(failing_records, 0u);
    std::vector<produced_event> events = read_produced(b);
    ASSERT_EQ(events.size(), warm + 1 + after);
    std::erase_if(events, [&](const produced_event& e) { return e.at == failed_at; });
    const audit a = check(routed_to(events, "enrichment"), enriched_sources(values));
    EXPECT_EQ(a.expected, warm + after);
    EXPECT_EQ(a.missing, 0u) << a.first_missing;
    EXPECT_EQ(a.duplicates, 0u);
    EXPECT_EQ(values.size(), warm + after);
}

// A producer whose local queue holds 20 records, lingering 50 ms: most
// records find it full. Each is offered again later (output_queue_full),
// never spun on, and still reaches the topic once, in its key's order.
TEST(DeliveryBounds, AFullProducerQueueIsBackpressureAndKeepsEachKeysOrder) {
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    const std::string dir = temp_dir();
    std::vector<std::string> sets = base_settings(b, "queue-full", dir);
    sets.insert(sets.end(), {"sinks.enrichment.output=\"kafka:enriched.events\"", "sinks.notification.output=\"none\"",
                             "kafka.producer.properties.\"queue.buffering.max.messages\"=20",
                             "kafka.producer.properties.\"linger.ms\"=50"});
    pipeline p(test_settings(sets), make_seed_sink, seed_schema());
    p.start();
    sink_metrics& enrichment = p.metrics().sinks[0];
    ASSERT_EQ(p.metrics().sink_names[0], "enrichment");

    constexpr int keys = 7, per_key = 120;
    std::vector<record> events;
    for (int seq = 0; seq < per_key; ++seq)
        for (int id = 1; id <= keys; ++id) events.push_back({"task.updated", -1, 0, std::to_string(id), task(id, seq)});
    produce(b, events);
    ASSERT_TRUE(committed_to_end(b, "queue-full", 120s));
    p.stop();
    EXPECT_GT(enrichment.output_queue_full.get(), 0u) << "the queue was never full: the test proves nothing";
    EXPECT_EQ(enrichment.failed.get(), 0u);

    // Per key, the titles s0, s1, ... in order, each once.
    std::map<std::string, std::vector<int>> seen;
    for (const record& r : read_all(b, "enriched.events")) {
        simdjson::dom::parser parser;
        const simdjson::dom::element doc = parser.parse(r.value);
        const std::string_view title = doc["title"].get_string().value();
        seen[r.key].push_back(std::stoi(std::string(title.substr(1))));
    }
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(keys));
    for (const auto& [key, seqs] : seen) {
        ASSERT_EQ(seqs.size(), static_cast<std::size_t>(per_key)) << "key " << key;
        for (int i = 0; i < per_key; ++i) ASSERT_EQ(seqs[static_cast<std::size_t>(i)], i) << "key " << key << " out of order";
    }
}
