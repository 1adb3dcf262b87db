// librdkafka-based helpers for the integration tests.
#include "kafka_test_support.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <stdexcept>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "seed_events.hpp"
#include "sink/sink_placement.hpp"

namespace sluice::testing {

std::string sink_placement_under_test() {
    const char* v = std::getenv("SLUICE_TEST_SINKS");
    if (!v || !*v) return "";
    const std::string word(v);
    if (word != "threads" && word != "inline")
        throw std::invalid_argument("SLUICE_TEST_SINKS must be threads or inline, not '" + word + "'");
    return word;
}

std::vector<std::string> sink_placement_override() {
    const std::string word = sink_placement_under_test();
    if (word.empty()) return {};
    return {"pipeline.sinks=\"" + word + "\""};
}

settings test_settings(std::vector<std::string> overrides) {
    for (std::string& o : sink_placement_override()) overrides.push_back(std::move(o));
    return load_settings("", overrides);
}

bool sinks_inline(const settings& s) {
    return resolve_sink_placement(s.sinks, usable_cpus(), event_roles(s.sink_names().size())) ==
           sink_placement::inline_;
}

std::vector<record> seed_records(std::size_t n, std::uint64_t seed) {
    seed_generator gen(seed);
    seed_event ev;
    std::vector<record> out;
    for (std::size_t i = 0; i < n; ++i) {
        gen.next(ev, wall_ns());
        out.push_back({std::string(ev.topic), -1, 0, ev.key, ev.value});
    }
    return out;
}

void produce(const std::string& bootstrap, const std::vector<record>& records) {
    kafka_config conf;
    conf.set("bootstrap.servers", bootstrap);
    conf.set("linger.ms", "2");
    struct state {
        std::size_t ok = 0, failed = 0;
    } st;
    rd_kafka_conf_set_opaque(conf.get(), &st);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* s = static_cast<state*>(opaque);
        if (m->err) ++s->failed;
        else ++s->ok;
    });
    kafka_handle rk = conf.make(RD_KAFKA_PRODUCER);
    for (const auto& r : records) {
        rd_kafka_headers_t* h = nullptr;
        if (!r.headers.empty()) {
            h = rd_kafka_headers_new(r.headers.size());
            for (const auto& [k, v] : r.headers) rd_kafka_header_add(h, k.c_str(), -1, v.data(), static_cast<ssize_t>(v.size()));
        }
        rd_kafka_resp_err_t err;
        do {
            err = rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(r.topic.c_str()),
                                    RD_KAFKA_V_PARTITION(r.partition >= 0 ? r.partition : RD_KAFKA_PARTITION_UA),
                                    RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
                                    RD_KAFKA_V_VALUE(r.null_value ? nullptr : const_cast<char*>(r.value.data()),
                                                     r.null_value ? 0 : r.value.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk.get(), 10);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (err) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
    }
    rd_kafka_flush(rk.get(), 30000);
    if (st.failed || st.ok != records.size()) throw std::runtime_error("produce: not every record was delivered");
}

namespace {
kafka_handle plain_consumer(const std::string& bootstrap, const std::string& group) {
    kafka_config conf;
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", group);
    conf.set("enable.auto.commit", "false");
    conf.set("fetch.wait.max.ms", "10");
    return conf.make(RD_KAFKA_CONSUMER);
}

std::vector<int> partitions_of(rd_kafka_t* rk, const std::string& topic) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err) throw std::runtime_error("metadata: " + std::string(rd_kafka_err2str(err)));
    std::vector<int> parts;
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) parts.push_back(md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return parts;
}
}  // namespace

std::vector<record> read_all(const std::string& bootstrap, const std::string& topic) {
    kafka_handle rk = plain_consumer(bootstrap, "sluice-test-reader");
    std::vector<record> out;
    partition_list list(rd_kafka_topic_partition_list_new(8));
    std::map<int, std::int64_t> ends;
    for (int p : partitions_of(rk.get(), topic)) {
        std::int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000);
        if (hi > lo) {
            ends[p] = hi;
            rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = lo;
        }
    }
    if (ends.empty()) return out;
    rd_kafka_assign(rk.get(), list.get());
    std::size_t remaining = ends.size();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (remaining > 0 && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (!m) continue;
        if (!m->err) {
            record r;
            r.topic = topic;
            r.partition = m->partition;
            r.offset = m->offset;
            if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
            r.null_value = m->payload == nullptr;
            if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
            rd_kafka_headers_t* h = nullptr;
            if (rd_kafka_message_headers(m, &h) == 0) {
                const char* name;
                const void* val;
                size_t size;
                for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; ++i)
                    r.headers[name] = std::string(static_cast<const char*>(val), size);
            }
            out.push_back(std::move(r));
            if (m->offset + 1 == ends[m->partition]) --remaining;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk.get());
    return out;
}

std::map<std::pair<std::string, int>, std::int64_t> end_offsets(const std::string& bootstrap,
                                                                 const std::vector<std::string>& topics) {
    kafka_handle rk = plain_consumer(bootstrap, "sluice-test-offsets");
    std::map<std::pair<std::string, int>, std::int64_t> out;
    for (const auto& t : topics)
        for (int p : partitions_of(rk.get(), t)) {
            std::int64_t lo = 0, hi = 0;
            rd_kafka_query_watermark_offsets(rk.get(), t.c_str(), p, &lo, &hi, 10000);
            out[{t, p}] = hi;
        }
    return out;
}

std::map<std::pair<std::string, int>, std::int64_t> committed_offsets(const std::string& bootstrap,
                                                                      const std::string& group,
                                                                      const std::vector<std::string>& topics) {
    kafka_handle rk = plain_consumer(bootstrap, group);
    partition_list list(rd_kafka_topic_partition_list_new(32));
    for (const auto& t : topics)
        for (int p : partitions_of(rk.get(), t)) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p);
    if (rd_kafka_committed(rk.get(), list.get(), 10000) != 0) throw std::runtime_error("committed offsets query failed");
    std::map<std::pair<std::string, int>, std::int64_t> out;
    for (int i = 0; i < list->cnt; ++i) out[{list->elems[i].topic, list->elems[i].partition}] = list->elems[i].offset;
    return out;
}

bool committed_to_end(const std::string& bootstrap, const std::string& group, std::chrono::milliseconds timeout) {
    const std::vector<std::string>& topics = seed_topics();
    return wait_until(
        [&] {
            const auto ends = end_offsets(bootstrap, topics);
            const auto committed = committed_offsets(bootstrap, group, topics);
            for (const auto& [tp, end] : ends)
                if (end > 0 && committed.at(tp) != end) return false;
            return true;
        },
        timeout);
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::string ask_stats(const std::string& socket_path, const std::string& command) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "connect failed";
    }
    const std::string line = command + "\n";
    (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[65536];
    while (out.find("\n\n") == std::string::npos) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;  // io_uring task work in this process
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::vector<std::string> comma_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const std::size_t end = std::min(s.find(',', pos), s.size());
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::string temp_dir() {
    // Each run of the suite wrote ~100 MB of captures and outputs that
    // nothing removed.
    struct removed_at_exit {
        std::vector<std::string> dirs;
        ~removed_at_exit() {
            if (std::getenv("SLUICE_KEEP_TEST_FILES")) return;
            std::error_code ignored;
            for (const auto& d : dirs) std::filesystem::remove_all(d, ignored);
        }
    };
    static removed_at_exit created;
    char tmpl[] = "/tmp/sluice-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    created.dirs.emplace_back(d);
    return d;
}

}  // namespace sluice::testing
