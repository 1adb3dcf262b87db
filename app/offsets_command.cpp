// `sluice offsets`: a consumer group's committed offsets, and resetting them (what Kafka's own CLI tools do).
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/timestamp.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "kafka/kafka_handles.hpp"
#include "seed_config.hpp"

namespace sluice {

namespace {

constexpr int timeout_ms = 10000;

struct row {
    std::string topic;
    std::int32_t partition;
    std::int64_t committed = RD_KAFKA_OFFSET_INVALID, low = 0, high = 0, target = 0;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const auto end = std::min(s.find(',', pos), s.size());
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::string offset_text(std::int64_t o) { return o < 0 ? "-" : std::to_string(o); }

// Partitions of the topics, with committed offsets and watermarks.
std::vector<row> read_rows(rd_kafka_t* rk, const std::vector<std::string>& topics) {
    const rd_kafka_metadata_t* md = nullptr;
    if (const auto err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms); err)
        throw std::runtime_error(std::string("cannot read the cluster's metadata: ") + rd_kafka_err2str(err));
    std::vector<row> rows;
    std::string missing;
    for (const auto& t : topics) {
        bool found = false;
        for (int i = 0; i < md->topic_cnt; ++i) {
            if (t != md->topics[i].topic) continue;
            found = true;
            for (int p = 0; p < md->topics[i].partition_cnt; ++p) rows.push_back({t, md->topics[i].partitions[p].id});
        }
        if (!found) missing += (missing.empty() ? "" : ", ") + t;
    }
    rd_kafka_metadata_destroy(md);
    if (!missing.empty()) throw std::runtime_error("no such topic: " + missing);
    partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(rows.size())));
    for (const auto& r : rows) rd_kafka_topic_partition_list_add(list.get(), r.topic.c_str(), r.partition);
    if (const auto err = rd_kafka_committed(rk, list.get(), timeout_ms); err)
        throw std::runtime_error(std::string("cannot read the committed offsets: ") + rd_kafka_err2str(err));
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i].committed = list->elems[i].offset;
        if (const auto err = rd_kafka_query_watermark_offsets(rk, rows[i].topic.c_str(), rows[i].partition, &rows[i].low,
                                                              &rows[i].high, timeout_ms);
            err)
            throw std::runtime_error(rows[i].topic + "[" + std::to_string(rows[i].partition) +
                                     "]: cannot read the watermarks: " + rd_kafka_err2str(err));
    }
    return rows;
}

// Where --to puts each partition.
void resolve_targets(rd_kafka_t* rk, std::vector<row>& rows, const std::string& to) {
    if (to == "earliest" || to == "latest") {
        for (auto& r : rows) r.target = to == "earliest" ? r.low : r.high;
        return;
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(to.data(), to.data() + to.size(), n);
    if (ec == std::errc() && end == to.data() + to.size() && n >= 0) {
        // An offset: clamped to what each partition still holds.
        for (auto& r : rows) r.target = std::clamp(n, r.low, r.high);
        return;
    }
    const auto ns = parse_iso8601_ns(to);
    if (!ns) throw usage_error("--to: expected earliest, latest, an offset or an ISO 8601 time, got '" + to + "'");
    // The first offset whose timestamp is at or after the time (the end if none).
    partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(rows.size())));
    for (const auto& r : rows)
        rd_kafka_topic_partition_list_add(list.get(), r.topic.c_str(), r.partition)->offset = *ns / 1'000'000;
    if (const auto err = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms); err)
        throw std::runtime_error(std::string("cannot look up offsets by time: ") + rd_kafka_err2str(err));
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::int64_t o = list->elems[i].offset;
        rows[i].target = o < 0 ? rows[i].high : o;
    }
}

// Members of the group per the broker (ListGroups/DescribeGroups), or -1 if
// the broker does not say (the embedded broker implements neither).
int active_members(rd_kafka_t* rk, const std::string& group) {
    const rd_kafka_group_list* groups = nullptr;
    if (rd_kafka_list_groups(rk, group.c_str(), &groups, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    int members = 0;
    for (int i = 0; i < groups->group_cnt; ++i)
        if (group == groups->groups[i].group) members += groups->groups[i].member_cnt;
    rd_kafka_group_list_destroy(groups);
    return members;
}

}  // namespace

int offsets_command(const offsets_options& o) {
    settings cfg = load_settings(o.config, {});
    std::string bootstrap = o.bootstrap.empty() ? cfg.bootstrap_servers : o.bootstrap;
    if (bootstrap == "embedded")
        throw usage_error("the embedded broker lives inside a running sluice: give --bootstrap HOST:PORT");
    const std::vector<std::string> topics = o.topics.empty() ? cfg.topics : split(o.topics);
    kafka_config conf;
    conf.set_all(cfg.kafka_properties);  // security settings of the cluster
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", o.group);
    conf.set("enable.auto.commit", "false");
    // Never subscribes: this client does not join the group.
    kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    struct destroy_without_close {
        kafka_handle& h;
        ~destroy_without_close() { rd_kafka_destroy_flags(h.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); }
    } closer{rk};

    std::vector<row> rows = read_rows(rk.get(), topics);
    if (!o.reset) {
        std::printf("%-32s %9s %12s %12s %12s %10s\n", "TOPIC", "PARTITION", "COMMITTED", "LOW", "HIGH", "LAG");
        for (const auto& r : rows) {
            const std::int64_t lag = r.high - (r.committed >= 0 ? r.committed : r.low);
            std::printf("%-32s %9d %12s %12lld %12lld %10lld\n", r.topic.c_str(), r.partition,
                        offset_text(r.committed).c_str(), static_cast<long long>(r.low), static_cast<long long>(r.high),
                        static_cast<long long>(lag));
        }
        return 0;
    }
    resolve_targets(rk.get(), rows, o.to);
    std::printf("%-32s %9s %12s %12s\n", "TOPIC", "PARTITION", "COMMITTED", "NEW");
    for (const auto& r : rows)
        std::printf("%-32s %9d %12s %12lld\n", r.topic.c_str(), r.partition, offset_text(r.committed).c_str(),
                    static_cast<long long>(r.target));
    if (o.dry_run) {
        std::printf("dry run: nothing committed\n");
        return 0;
    }
    if (const int members = active_members(rk.get(), o.group); members > 0)
        throw std::runtime_error("group " + o.group + " has " + std::to_string(members) +
                                 " active member(s): stop them before resetting its offsets");
    partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(rows.size())));
    for (const auto& r : rows) rd_kafka_topic_partition_list_add(list.get(), r.topic.c_str(), r.partition)->offset = r.target;
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk.get(), list.get(), 0);
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
        err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        throw std::runtime_error("the broker refused the commit (" + std::string(rd_kafka_err2str(err)) + "): group " +
                                 o.group + " has active members (the embedded broker also keeps refusing for a group "
                                 "that once had members): stop them before resetting its offsets");
    if (err) throw std::runtime_error(std::string("commit failed: ") + rd_kafka_err2str(err));
    for (int i = 0; i < list->cnt; ++i)
        if (list->elems[i].err)
            throw std::runtime_error(std::string(list->elems[i].topic) + "[" + std::to_string(list->elems[i].partition) +
                                     "]: " + rd_kafka_err2str(list->elems[i].err));
    std::printf("committed the new offsets of group %s\n", o.group.c_str());
    return 0;
}

}  // namespace sluice
