// The embedded broker's share of end-to-end latency: the time from an
// event's Kafka timestamp (set by the load generator's producer) to its
// arrival in a plain consumer with sluice's consumer settings, nothing else.
// Usage: arrival_latency BOOTSTRAP GROUP TOPIC SECONDS [-X KEY=VALUE ...]
// Prints "assigned" once the group assigned its partitions (offer load a second
// later, once the first fetch has positioned them at the end),
// then after SECONDS of arrivals:
//   arrival: N events p50 P99 P999 MAX us
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/clock.hpp"
#include "kafka/kafka_handles.hpp"
#include "stats/histogram.hpp"

using namespace sluice;

int main(int argc, char** argv) {
    if (argc < 5 || (argc - 5) % 2 != 0) {
        std::fprintf(stderr, "usage: arrival_latency BOOTSTRAP GROUP TOPIC SECONDS [-X KEY=VALUE ...]\n");
        return 2;
    }
    std::map<std::string, std::string> overrides;
    for (int i = 5; i + 1 < argc; i += 2) {
        const std::string kv = argv[i + 1];
        const auto eq = kv.find('=');
        if (std::strcmp(argv[i], "-X") != 0 || eq == std::string::npos) {
            std::fprintf(stderr, "usage: arrival_latency BOOTSTRAP GROUP TOPIC SECONDS [-X KEY=VALUE ...]\n");
            return 2;
        }
        overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    kafka_config conf;
    conf.set_all(consumer_defaults(overrides));
    conf.set_all(overrides);
    conf.set("auto.offset.reset", "latest");  // only what arrives from now on
    conf.set("bootstrap.servers", argv[1]);
    conf.set("group.id", argv[2]);
    kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk.get());
    partition_list subs(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(subs.get(), argv[3], RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk.get(), subs.get())) return 1;

    histogram arrival;
    bool assigned = false;
    std::int64_t until_ns = 0;
    const std::int64_t seconds = std::stoll(argv[4]);
    for (;;) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 10);
        if (!assigned) {
            rd_kafka_topic_partition_list_t* a = nullptr;
            if (rd_kafka_assignment(rk.get(), &a) == 0 && a && a->cnt > 0) {
                assigned = true;
                // The load starts a second after this line and lasts SECONDS: one more for the last arrivals.
                until_ns = mono_ns() + (seconds + 2) * 1'000'000'000;
                std::printf("assigned\n");
                std::fflush(stdout);
            }
            if (a) rd_kafka_topic_partition_list_destroy(a);
        }
        if (m) {
            rd_kafka_timestamp_type_t type;
            const std::int64_t ts_ms = rd_kafka_message_timestamp(m, &type);
            if (!m->err && ts_ms > 0) {
                // Millisecond timestamps: the arrival is measured to 1 ms at best.
                const std::int64_t now = wall_ns();
                arrival.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now - ts_ms * 1'000'000, 0)));
            }
            rd_kafka_message_destroy(m);
        }
        if (assigned && mono_ns() > until_ns) break;
    }
    const auto s = arrival.snapshot();
    std::printf("arrival: %llu events %.1f %.1f %.1f %.1f us\n", static_cast<unsigned long long>(s.total),
                double(s.percentile(50)) / 1e3, double(s.percentile(99)) / 1e3, double(s.percentile(99.9)) / 1e3,
                double(s.max) / 1e3);
    rd_kafka_consumer_close(rk.get());
    return 0;
}
