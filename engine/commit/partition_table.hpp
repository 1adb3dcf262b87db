// The one owner of every partition's life: index, epoch, start offset, pause, drain, commit.
#pragma once

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode/event_slot.hpp"
#include "stats/metrics.hpp"

namespace sluice {

// A partition's life, in order (engine/README.md, "The partition state machine"):
//
//   unassigned -> fetching <-> paused -> revoking -> drained -> committed -> unassigned
//
// assign() opens a new epoch at an absolute start offset that the source
// resolved itself; pause/resume toggle fetching and paused; begin_revoke()
// stops taking its messages; drained() says every dispatched event of the
// epoch is done; committed() records the final commit of the epoch; release()
// ends it. reset() opens a new epoch of an assigned partition at another
// offset (the broker no longer had the position).
enum class partition_state : std::uint8_t { unassigned, fetching, paused, revoking, drained, committed };

const char* to_string(partition_state s) noexcept;

// More partitions assigned at once than the table holds.
struct partition_limit_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Design: owned and used by the source thread only (the Kafka consumer or the
// replay reader, through their dispatcher). Other threads see a partition
// through its partition_view (metrics) and, for the commit thread, through
// the assign/revoke records the dispatcher pushes in order with the events.
// Rules, and why each holds:
// - An index is reused for another partition only when no slot of the pool
//   holds an event of it, so sinks (which read the view's name for their
//   slot) never see a name change under an event.
// - A message is taken only while its partition is fetching or paused in the
//   current epoch and at or above the epoch's start: messages polled after a
//   revoke, or fetched before a reset, are dropped, so the watermark of an
//   epoch never sees an offset from outside it.
// - Within an epoch offsets only grow; one at or below the last one taken is
//   a redelivery (librdkafka 2.0.2 refetches after pause/resume) and skipped.
class partition_table {
public:
    partition_table(pipeline_metrics& m, const std::vector<in_flight_event>& pool, std::size_t capacity = max_partitions);

    // Index of topic/partition for a new epoch starting at absolute offset
    // start (-1: not known yet; the first message taken sets it). end: the
    // high watermark at assignment (-1: unknown). Throws partition_limit_error
    // when every index is taken by a partition that is assigned or has events
    // in flight, std::invalid_argument for a negative partition number.
    std::uint32_t assign(std::string_view topic, std::int32_t partition, std::int64_t start, std::int64_t end);
    // A new epoch of an assigned partition at absolute offset start.
    void reset(std::uint32_t idx, std::int64_t start);
    // The index of an assigned (not yet released) partition, or UINT32_MAX.
    // This table is the one map of topic/partition to index: the source
    // asks it, by name or by handle; the commit thread learns indexes from
    // the records and carries them through its requests.
    std::uint32_t find(std::string_view topic, std::int32_t partition) const;
    // The same, by the source's handle of the topic (rd_kafka_topic_t*), for
    // every message: the first lookup of a handle matches it to its topic by
    // name (topic_name(handle)), later ones compare pointers only.
    template <class TopicName>
    std::uint32_t find(const void* handle, std::int32_t partition, TopicName&& topic_name) {
        if (!handle) return UINT32_MAX;
        for (const known_topic& t : topics_)
            if (t.handle == handle) return index_in(t, partition);
        known_topic* t = topic_named(topic_name(handle));
        if (!t) return UINT32_MAX;
        t->handle = handle;
        return index_in(*t, partition);
    }
    // Forgets every handle; the next lookup of each matches it by name again.
    // The source calls it at every rebalance and offset reset as insurance,
    // not of need: librdkafka 2.0.2 keeps a topic's handle until
    // rd_kafka_destroy (the topic's unassigned-partition object holds a
    // reference), but a library that freed handles could reuse an address
    // for another topic.
    void forget_handles() noexcept {
        for (known_topic& t : topics_) t.handle = nullptr;
    }
    // The index topic/partition had last (assigned or not), or UINT32_MAX.
    std::uint32_t last_index(std::string_view topic, std::int32_t partition) const;

    enum class verdict { take, not_assigned, before_start, redelivered };
    // Whether a message at offset of partition idx is to be dispatched now;
    // records it as received when it is.
    verdict admit(std::uint32_t idx, std::int64_t offset) noexcept;
    // A partition error may have moved librdkafka's position: what follows is
    // taken even at offsets received before (better a duplicate than a skip).
    void forget_received(std::uint32_t idx) noexcept { parts_[idx].last_received = -1; }

    void set_paused(std::uint32_t idx, bool paused) noexcept;
    bool paused(std::uint32_t idx) const noexcept { return parts_[idx].state == partition_state::paused; }
    void begin_revoke(std::uint32_t idx) noexcept { parts_[idx].state = partition_state::revoking; }
    // Every event dispatched in this epoch is done (the commit thread's view).
    bool drained(std::uint32_t idx) const noexcept;
    void mark_drained(std::uint32_t idx) noexcept { parts_[idx].state = partition_state::drained; }
    void mark_committed(std::uint32_t idx) noexcept { parts_[idx].state = partition_state::committed; }
    // The epoch ends; the partition is no longer assigned.
    void release(std::uint32_t idx) noexcept;

    partition_state state(std::uint32_t idx) const noexcept { return parts_[idx].state; }
    bool assigned(std::uint32_t idx) const noexcept { return parts_[idx].state != partition_state::unassigned; }
    std::uint32_t epoch(std::uint32_t idx) const noexcept { return parts_[idx].epoch; }
    std::int64_t start(std::uint32_t idx) const noexcept { return parts_[idx].start; }
    // Per-partition dispatch sequence of the current epoch.
    std::uint64_t& next_seq(std::uint32_t idx) noexcept { return parts_[idx].next_seq; }
    const partition_name& name(std::uint32_t idx) const noexcept { return parts_[idx].who->name; }
    // Indexes of assigned partitions.
    std::vector<std::uint32_t> assigned_indexes() const;

private:
    // Everything sluice learnt of one topic partition over the process's life.
    struct known_partition {
        partition_name name;
        std::int64_t highest_taken = -1;       // over every epoch: re-consumption after a rebalance
        std::uint32_t index = UINT32_MAX;      // the index it has, or had last
    };
    // A topic: its partitions by number, and the source's handle of it.
    struct known_topic {
        std::string name;
        const void* handle = nullptr;                 // nullptr: not matched since forget_handles()
        std::vector<known_partition*> by_partition;   // nullptr: never assigned
    };
    struct life {
        known_partition* who = nullptr;
        partition_state state = partition_state::unassigned;
        std::uint32_t epoch = 0;
        std::int64_t start = -1;
        std::int64_t last_received = -1;  // this epoch
        bool skipping = false;            // in a run of redeliveries (logged once)
        std::uint64_t next_seq = 0;
    };
    known_partition& intern(std::string_view topic, std::int32_t partition);
    known_topic* topic_named(std::string_view topic) noexcept;
    const known_partition* known(std::string_view topic, std::int32_t partition) const noexcept;  // nullptr: never assigned
    // The index k has now if it is assigned, else UINT32_MAX.
    std::uint32_t assigned_index(const known_partition* k) const noexcept {
        if (!k || k->index == UINT32_MAX) return UINT32_MAX;
        const life& l = parts_[k->index];
        return l.who == k && l.state != partition_state::unassigned ? k->index : UINT32_MAX;
    }
    std::uint32_t index_in(const known_topic& t, std::int32_t partition) const noexcept {
        if (partition < 0 || static_cast<std::size_t>(partition) >= t.by_partition.size()) return UINT32_MAX;
        return assigned_index(t.by_partition[static_cast<std::size_t>(partition)]);
    }
    void open_epoch(std::uint32_t idx, std::int64_t start) noexcept;  // the next epoch from start
    std::uint32_t free_index();
    bool in_flight(std::uint32_t idx) const noexcept;

    pipeline_metrics& metrics_;
    const std::vector<in_flight_event>& pool_;
    std::size_t capacity_;
    std::vector<life> parts_;
    std::deque<known_partition> known_;  // never shrinks: views point into it
    std::vector<known_topic> topics_;    // few: a linear scan finds one
};

}  // namespace sluice
