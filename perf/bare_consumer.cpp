// The ceiling a user could write in an hour: one thread, librdkafka consumer
// with sluice's settings, simdjson decode of each event, nothing else.
// Usage: bare_consumer BOOTSTRAP GROUP TOPIC[,TOPIC...]
// Prints: bare: N events, B bytes in S s (R events/s) cpu C s
#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backlog_reader.hpp"
#include "kafka/kafka_handles.hpp"

using namespace sluice;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: bare_consumer BOOTSTRAP GROUP TOPIC[,TOPIC...]\n");
        return 2;
    }
    kafka_config conf;
    conf.set_all(consumer_defaults());
    conf.set("auto.offset.reset", "earliest");  // sluice resolves this itself; a bare consumer lets librdkafka
    conf.set("bootstrap.servers", argv[1]);
    conf.set("group.id", argv[2]);
    kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk.get());

    std::vector<std::string> topics;
    for (char* t = std::strtok(argv[3], ","); t; t = std::strtok(nullptr, ",")) topics.emplace_back(t);
    partition_list subs(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(subs.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk.get(), subs.get())) return 1;

    // Wait for the assignment, then note the end offsets: stop when all reached.
    std::map<std::pair<std::string, int>, std::int64_t> remaining;
    simdjson::ondemand::parser parser;
    std::string padded;
    std::uint64_t events = 0, bytes = 0, fields = 0;
    std::chrono::steady_clock::time_point first{};
    rd_kafka_message_t* batch[256];
    bool started = false;
    for (;;) {
        // The consume call sluice's source uses: one rd_kafka_consumer_poll
        // per message, whatever is ready, then a wait of up to 10 ms.
        const int n = bench::poll_batch(rk.get(), batch, 256);
        // The clock starts with the first message librdkafka hands over, before
        // the end offsets are asked for: the fetchers keep filling the queue
        // meanwhile, and that time is part of consuming.
        if (n > 0 && first == std::chrono::steady_clock::time_point{}) first = std::chrono::steady_clock::now();
        if (!started) {
            const int ends = bench::backlog_ends(rk.get(), remaining);
            if (ends < 0) return 1;
            started = ends > 0;
        }
        for (int i = 0; i < n; ++i) {
            rd_kafka_message_t* m = batch[i];
            if (!m->err && m->payload) {
                ++events;
                bytes += m->len;
                padded.assign(static_cast<const char*>(m->payload), m->len);
                padded.append(simdjson::SIMDJSON_PADDING, '\0');
                simdjson::ondemand::document doc;
                simdjson::ondemand::object obj;
                if (!parser.iterate(padded.data(), m->len, padded.size()).get(doc) && !doc.get_object().get(obj))
                    for (auto f : obj) {
                        std::string_view k;
                        if (!f.unescaped_key().get(k)) ++fields;
                    }
                auto it = remaining.find({rd_kafka_topic_name(m->rkt), m->partition});
                if (it != remaining.end() && m->offset + 1 >= it->second) remaining.erase(it);
            }
            rd_kafka_message_destroy(m);
        }
        if (started && remaining.empty()) break;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::printf("bare: %llu events, %llu bytes in %.3f s (%.0f events/s) cpu %.2f s fields %llu\n",
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes), secs,
                secs > 0 ? double(events) / secs : 0.0, cpu, static_cast<unsigned long long>(fields));
    rd_kafka_consumer_close(rk.get());
    return 0;
}
