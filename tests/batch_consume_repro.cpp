// Reproduces librdkafka 2.0.x losing messages in rd_kafka_consume_batch_queue
// during cooperative rebalances, next to the same churn read with
// rd_kafka_consumer_poll, on the embedded broker. Plain librdkafka clients
// only: no sluice code between the library and the check.
//
// The window (librdkafka v2.0.2, src/rdkafka_queue.c
// rd_kafka_q_serve_rkmessages): each message is app-prepared (the
// partition's app offset advances) as it is added to the batch being
// collected. An incremental rebalance pauses every assigned partition
// (rd_kafka_assignment_pause); the pause saves the app offset as the resume
// position and bumps the partition's op version, which puts a BARRIER op in
// the queue. When the collecting call reaches the barrier it destroys the
// batch's messages of that partition (rd_kafka_purge_outdated_messages), and
// fetching resumes after them. So a batch call that spans a rebalance drops
// the messages of kept partitions it had collected so far. A long batch
// timeout with live traffic keeps a batch open almost all the time.
//
// The check: each member records, per partition it owns, the last offset it
// received. Within one continuous ownership (no assign or revoke of that
// partition in between) the next offset must be the last plus one; a larger
// step is a gap. A call during which the partition's own assignment changed
// restarts the check (its messages may straddle two ownerships).
//
// Usage: batch_consume_repro batch|poll SECONDS
// Prints one "gap" line per gap and a summary line; exit 0 after a run,
// 1 on a set-up failure, 64 on bad arguments.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "embedded_broker.hpp"
#include "kafka_handles.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* topic = "repro";
constexpr int partitions = 12;
constexpr int members = 3;
constexpr int batch_timeout_ms = 200;
constexpr std::size_t batch_size = 10000;  // never filled within the timeout at the produce rate
constexpr int produce_per_ms = 4;          // 4 000 messages/s across the partitions

enum class read_mode { batch, poll };

struct gap {
    int member;
    int partition;
    std::int64_t last;
    std::int64_t next;
};

struct totals {
    std::mutex mu;
    std::vector<gap> gaps;
    std::uint64_t received = 0;
    std::uint64_t backwards = 0;  // offset not above the last one in the same ownership (redelivery)
    std::uint64_t rebalances = 0;
    std::uint64_t joins = 0;
};

// One member's view, touched only by its own thread (the rebalance callback
// runs inside its poll or batch call).
struct member_state {
    int id = 0;
    bool ever_assigned = false;
    std::map<int, std::int64_t> last;  // owned partition -> last offset received (-1: none yet)
    std::set<int> changed;             // partitions assigned or revoked during the current call
    std::uint64_t rebalances = 0;
};

void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* m = static_cast<member_state*>(opaque);
    ++m->rebalances;
    rd_kafka_error_t* error = nullptr;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        error = rd_kafka_incremental_assign(rk, parts);
        m->ever_assigned = true;
        for (int i = 0; i < parts->cnt; ++i) {
            m->last[parts->elems[i].partition] = -1;
            m->changed.insert(parts->elems[i].partition);
        }
    } else {
        error = rd_kafka_incremental_unassign(rk, parts);
        for (int i = 0; i < parts->cnt; ++i) {
            m->last.erase(parts->elems[i].partition);
            m->changed.insert(parts->elems[i].partition);
        }
    }
    if (error) {
        std::fprintf(stderr, "member %d: incremental %s: %s\n", m->id,
                     err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "unassign", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

// Checks the messages one call returned against the member's ownership.
void check(member_state& m, rd_kafka_message_t** msgs, std::size_t n, std::vector<gap>& gaps,
           std::uint64_t& received, std::uint64_t& backwards) {
    for (std::size_t i = 0; i < n; ++i) {
        const rd_kafka_message_t* msg = msgs[i];
        if (msg->err) continue;
        const auto owned = m.last.find(msg->partition);
        if (owned == m.last.end()) continue;  // revoked during this call: not this member's any more
        ++received;
        std::int64_t& last = owned->second;
        if (!m.changed.count(msg->partition) && last >= 0) {
            if (msg->offset > last + 1) gaps.push_back({m.id, msg->partition, last, msg->offset});
            else if (msg->offset <= last) ++backwards;
        }
        last = msg->offset;
    }
    m.changed.clear();
}

sluice::kafka_handle make_consumer(const std::string& bootstraps, const std::string& group, member_state& m) {
    sluice::kafka_config conf;
    conf.set("bootstrap.servers", bootstraps)
        .set("group.id", group)
        .set("partition.assignment.strategy", "cooperative-sticky")
        // No commits at all: the embedded broker refuses a commit during a
        // join, and 2.0.2 then declares the whole assignment lost, which ends
        // every ownership this check needs to span a rebalance.
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // The embedded broker waits up to session.timeout - 1 s for members
        // to rejoin; short heartbeats make them learn of a rebalance quickly.
        .set("session.timeout.ms", "3000")
        .set("heartbeat.interval.ms", "200")
        .set("fetch.wait.max.ms", "20")
        .set("log_level", "3");
    if (const char* debug = std::getenv("REPRO_DEBUG"); debug && m.id == 0)
        conf.set("debug", debug).set("log_level", "7");
    rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance_cb);
    rd_kafka_conf_set_opaque(conf.get(), &m);
    sluice::kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk.get());
    sluice::partition_list topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), topic, RD_KAFKA_PARTITION_UA);
    if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk.get(), topics.get()))
        throw std::runtime_error(std::string("subscribe: ") + rd_kafka_err2str(err));
    return rk;
}

// One member: joins, reads for its stay, leaves, stays away, joins again,
// until the run ends. Member 0 stays for the whole run.
void run_member(int id, read_mode mode, const std::string& bootstraps, const std::string& group,
                clock_type::time_point end, totals& t) {
    // Members 1 and 2 take turns so that each join or leave is a rebalance of
    // its own: one starting while the previous one is still syncing makes the
    // embedded broker reject the SyncGroup, and the members then drop their
    // whole assignment instead of keeping most of it.
    const auto stay = std::chrono::seconds(8);
    const auto away = std::chrono::seconds(4);
    std::vector<rd_kafka_message_t*> msgs(batch_size);
    if (id != 0) std::this_thread::sleep_for(std::chrono::seconds(id == 1 ? 1 : 7));
    while (clock_type::now() < end) {
        member_state m;
        m.id = id;
        std::vector<gap> gaps;
        std::uint64_t received = 0, backwards = 0;
        sluice::kafka_handle rk = make_consumer(bootstraps, group, m);
        sluice::kafka_queue q(rd_kafka_queue_get_consumer(rk.get()));
        const auto leave = id == 0 ? end : std::min(end, clock_type::now() + stay);
        // Destroying a cooperative-sticky consumer of 2.0.2 before its first
        // assignment aborts (librdkafka issue 4312): stay until one came.
        while (clock_type::now() < leave || !m.ever_assigned) {
            if (mode == read_mode::batch) {
                const ssize_t n = rd_kafka_consume_batch_queue(q.get(), batch_timeout_ms, msgs.data(), msgs.size());
                if (n > 0) {
                    check(m, msgs.data(), static_cast<std::size_t>(n), gaps, received, backwards);
                    for (ssize_t i = 0; i < n; ++i) rd_kafka_message_destroy(msgs[static_cast<std::size_t>(i)]);
                } else {
                    m.changed.clear();
                }
            } else {
                rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk.get(), batch_timeout_ms);
                if (msg) {
                    check(m, &msg, 1, gaps, received, backwards);
                    rd_kafka_message_destroy(msg);
                } else {
                    m.changed.clear();
                }
            }
            if (clock_type::now() > end + std::chrono::seconds(20)) break;
        }
        rd_kafka_consumer_close(rk.get());
        if (!m.ever_assigned) (void)rk.release();  // see above: leak rather than abort
        q.reset();
        rk.reset();
        {
            std::lock_guard lock(t.mu);
            t.gaps.insert(t.gaps.end(), gaps.begin(), gaps.end());
            t.received += received;
            t.backwards += backwards;
            t.rebalances += m.rebalances;
            ++t.joins;
        }
        if (id == 0) break;
        const auto back = clock_type::now() + away;
        while (clock_type::now() < back && clock_type::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void produce(const std::string& bootstraps, std::atomic<bool>& stop, std::uint64_t& produced) {
    sluice::kafka_config conf;
    conf.set("bootstrap.servers", bootstraps).set("linger.ms", "5").set("log_level", "3");
    sluice::kafka_handle rk = conf.make(RD_KAFKA_PRODUCER);
    static const char payload[] = "0123456789abcdef0123456789abcdef";
    int partition = 0;
    auto tick = clock_type::now();
    while (!stop.load(std::memory_order_relaxed)) {
        tick += std::chrono::milliseconds(10);
        for (int i = 0; i < produce_per_ms * 10; ++i) {
            const rd_kafka_resp_err_t err =
                rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(payload), sizeof payload - 1), RD_KAFKA_V_END);
            if (!err) ++produced;
            partition = (partition + 1) % partitions;
        }
        rd_kafka_poll(rk.get(), 0);
        std::this_thread::sleep_until(tick);
    }
    rd_kafka_flush(rk.get(), 5000);
}

}  // namespace

int main(int argc, char** argv) {
    const auto usage = [&] {
        std::fprintf(stderr, "usage: %s batch|poll SECONDS\n", argv[0]);
        return 64;
    };
    if (argc != 3) return usage();
    read_mode mode;
    if (std::strcmp(argv[1], "batch") == 0) mode = read_mode::batch;
    else if (std::strcmp(argv[1], "poll") == 0) mode = read_mode::poll;
    else return usage();
    char* endp = nullptr;
    const long seconds = std::strtol(argv[2], &endp, 10);
    if (*argv[2] == '\0' || *endp != '\0' || seconds < 5 || seconds > 3600) return usage();

    try {
        sluice::embedded_broker broker(1, {{topic, partitions}});
        const std::string group = std::string("repro-") + argv[1];
        std::atomic<bool> stop{false};
        std::uint64_t produced = 0;
        std::thread producer(produce, broker.bootstraps(), std::ref(stop), std::ref(produced));
        totals t;
        const auto end = clock_type::now() + std::chrono::seconds(seconds);
        std::vector<std::thread> threads;
        for (int id = 0; id < members; ++id)
            threads.emplace_back(run_member, id, mode, broker.bootstraps(), group, end, std::ref(t));
        for (auto& th : threads) th.join();
        stop = true;
        producer.join();

        std::uint64_t missing = 0;
        for (const gap& g : t.gaps) {
            missing += static_cast<std::uint64_t>(g.next - g.last - 1);
            std::printf("gap member=%d partition=%d last=%lld next=%lld missing=%lld\n", g.member, g.partition,
                        static_cast<long long>(g.last), static_cast<long long>(g.next),
                        static_cast<long long>(g.next - g.last - 1));
        }
        std::printf("mode=%s seconds=%ld produced=%llu received=%llu joins=%llu rebalance_callbacks=%llu "
                    "redelivered=%llu gaps=%zu missing=%llu\n",
                    argv[1], seconds, static_cast<unsigned long long>(produced),
                    static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.joins),
                    static_cast<unsigned long long>(t.rebalances), static_cast<unsigned long long>(t.backwards),
                    t.gaps.size(), static_cast<unsigned long long>(missing));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "batch_consume_repro: %s\n", e.what());
        return 1;
    }
}
