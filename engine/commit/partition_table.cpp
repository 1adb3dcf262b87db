// Partition life: index reuse, epochs, admission of messages, drain state.
#include "commit/partition_table.hpp"

#include <cstdio>

#include "base/log.hpp"

namespace sluice {

const char* to_string(partition_state s) noexcept {
    switch (s) {
        case partition_state::unassigned: return "unassigned";
        case partition_state::fetching: return "fetching";
        case partition_state::paused: return "paused";
        case partition_state::revoking: return "revoking";
        case partition_state::drained: return "drained";
        case partition_state::committed: return "committed";
    }
    return "?";
}

partition_table::partition_table(pipeline_metrics& m, const std::vector<in_flight_event>& pool, std::size_t capacity)
    : metrics_(m), pool_(pool), capacity_(std::min(capacity, max_partitions)), parts_(capacity_) {}

partition_table::known_topic* partition_table::topic_named(std::string_view topic) noexcept {
    for (known_topic& t : topics_)
        if (t.name == topic) return &t;
    return nullptr;
}

const partition_table::known_partition* partition_table::known(std::string_view topic,
                                                               std::int32_t partition) const noexcept {
    for (const known_topic& t : topics_)
        if (t.name == topic)
            return partition >= 0 && static_cast<std::size_t>(partition) < t.by_partition.size()
                       ? t.by_partition[static_cast<std::size_t>(partition)]
                       : nullptr;
    return nullptr;
}

partition_table::known_partition& partition_table::intern(std::string_view topic, std::int32_t partition) {
    if (partition < 0) throw std::invalid_argument("partition_table: negative partition number");
    // Each entry is built whole before it is linked: an allocation that
    // throws leaves nothing linked with an empty name.
    known_topic* t = topic_named(topic);
    if (!t) {
        known_topic fresh;
        fresh.name = std::string(topic);
        t = &topics_.emplace_back(std::move(fresh));
    }
    const auto p = static_cast<std::size_t>(partition);
    if (t->by_partition.size() <= p) t->by_partition.resize(p + 1, nullptr);
    known_partition*& k = t->by_partition[p];
    if (!k) k = &known_.emplace_back(known_partition{partition_name{t->name, partition}});
    return *k;
}

bool partition_table::in_flight(std::uint32_t idx) const noexcept {
    for (const in_flight_event& s : pool_)
        // acquire: pairs with the releasing thread's decrement.
        if (s.partition == idx && s.pending.load(std::memory_order_acquire) != 0) return true;
    return false;
}

std::uint32_t partition_table::free_index() {
    const std::uint32_t used = metrics_.partition_count.load(std::memory_order_relaxed);
    if (used < capacity_) return used;
    // Every index has been used: take one whose partition is gone and has
    // nothing in flight (a pool scan: rebalances are rare, pools small).
    // Closed too: the commit thread has taken the epoch's revoke record (it
    // reads the name when it takes the next assign record).
    for (std::uint32_t i = 0; i < capacity_; ++i)
        if (parts_[i].state == partition_state::unassigned && !in_flight(i) &&
            metrics_.partitions[i].closed_epoch.load(std::memory_order_acquire) == parts_[i].epoch)
            return i;
    throw partition_limit_error("more than " + std::to_string(capacity_) +
                                " partitions assigned at once (or still finishing events): cannot take another");
}

std::uint32_t partition_table::assign(std::string_view topic, std::int32_t partition, std::int64_t start,
                                      std::int64_t end) {
    known_partition& k = intern(topic, partition);
    std::uint32_t idx = k.index;
    // The index it had is still its own unless another partition took it since.
    if (idx == UINT32_MAX || parts_[idx].who != &k) {
        idx = free_index();
        life& l = parts_[idx];
        if (l.who) l.who->index = UINT32_MAX;
        l.who = &k;
        k.index = idx;
        partition_view& v = metrics_.partitions[idx];
        v.consumed.store(0, std::memory_order_relaxed);
        v.committed_offset.store(-1, std::memory_order_relaxed);
        v.commit_offset.store(-1, std::memory_order_relaxed);
        v.high_watermark.store(-1, std::memory_order_relaxed);
        v.exposure.store(0, std::memory_order_relaxed);
        v.exposure_age_ns.store(0, std::memory_order_relaxed);
        // release: the reset values above are visible to whoever sees the new name.
        v.name.store(&k.name, std::memory_order_release);
        if (idx == metrics_.partition_count.load(std::memory_order_relaxed))
            // release: the view's name is written before readers see the new count.
            metrics_.partition_count.store(idx + 1, std::memory_order_release);
    }
    parts_[idx].state = partition_state::fetching;
    open_epoch(idx, start);
    partition_view& v = metrics_.partitions[idx];
    v.end_at_assign.store(end, std::memory_order_release);
    v.assigned.store(true, std::memory_order_release);
    return idx;
}

void partition_table::reset(std::uint32_t idx, std::int64_t start) {
    life& l = parts_[idx];
    // Offsets read again after a rewind are counted as reset_rewound, not
    // as duplicates of a rebalance.
    if (start >= 0 && start <= l.who->highest_taken) l.who->highest_taken = start - 1;
    open_epoch(idx, start);
}

void partition_table::open_epoch(std::uint32_t idx, std::int64_t start) noexcept {
    life& l = parts_[idx];
    ++l.epoch;
    l.start = start;
    l.last_received = -1;
    l.skipping = false;
    l.next_seq = 0;
    partition_view& v = metrics_.partitions[idx];
    v.assign_epoch.store(l.epoch, std::memory_order_relaxed);
    v.dispatched.store(0, std::memory_order_relaxed);
    v.start_offset.store(start, std::memory_order_relaxed);
}

std::uint32_t partition_table::find(std::string_view topic, std::int32_t partition) const {
    return assigned_index(known(topic, partition));
}

std::uint32_t partition_table::last_index(std::string_view topic, std::int32_t partition) const {
    const known_partition* k = known(topic, partition);
    if (!k) return UINT32_MAX;
    const std::uint32_t idx = k->index;
    return idx != UINT32_MAX && parts_[idx].who == k ? idx : UINT32_MAX;
}

partition_table::verdict partition_table::admit(std::uint32_t idx, std::int64_t offset) noexcept {
    life& l = parts_[idx];
    if (l.state != partition_state::fetching && l.state != partition_state::paused) {
        metrics_.source.stale_dropped.add();
        return verdict::not_assigned;
    }
    if (l.start >= 0 && offset < l.start) {
        metrics_.source.stale_dropped.add();
        return verdict::before_start;
    }
    if (offset <= l.last_received) {
        metrics_.source.redelivered.add();
        if (!l.skipping)  // once per run of redeliveries
            logf(log_level::warning, "redelivery",
                         "consumer: librdkafka delivered %s[%d] again from offset %lld; skipping up to offset %lld, received before",
                         l.who->name.topic.c_str(), l.who->name.partition, static_cast<long long>(offset),
                         static_cast<long long>(l.last_received));
        l.skipping = true;
        return verdict::redelivered;
    }
    if (l.start < 0) {
        l.start = offset;
        metrics_.partitions[idx].start_offset.store(offset, std::memory_order_relaxed);
    }
    l.last_received = offset;
    l.skipping = false;
    if (offset <= l.who->highest_taken) metrics_.source.rebalance_duplicates.add();
    else l.who->highest_taken = offset;
    return verdict::take;
}

void partition_table::set_paused(std::uint32_t idx, bool paused) noexcept {
    life& l = parts_[idx];
    if (l.state == partition_state::fetching && paused) l.state = partition_state::paused;
    else if (l.state == partition_state::paused && !paused) l.state = partition_state::fetching;
}

bool partition_table::drained(std::uint32_t idx) const noexcept {
    const life& l = parts_[idx];
    // acquire: pairs with the commit thread's release (publish()); epoch and
    // count come from one store.
    return metrics_.partitions[idx].done_mark.load(std::memory_order_acquire) == done_mark(l.epoch, l.next_seq);
}

void partition_table::release(std::uint32_t idx) noexcept {
    parts_[idx].state = partition_state::unassigned;
    metrics_.partitions[idx].assigned.store(false, std::memory_order_release);
}

std::vector<std::uint32_t> partition_table::assigned_indexes() const {
    std::vector<std::uint32_t> r;
    const std::uint32_t used = metrics_.partition_count.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < used; ++i)
        if (parts_[i].state != partition_state::unassigned) r.push_back(i);
    return r;
}

}  // namespace sluice
