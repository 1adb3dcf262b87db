// The partition table (one owner of a partition's life) and the commit thread's own ack channel.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "commit/partition_table.hpp"
#include "ring/ack_channel.hpp"

using namespace sluice;
using verdict = partition_table::verdict;

namespace {
struct table_fixture {
    pipeline_metrics metrics;
    std::vector<in_flight_event> pool = std::vector<in_flight_event>(8);
    partition_table table{metrics, pool, 4};
};
}  // namespace

// Messages are taken only while their partition is assigned in the current
// epoch and at or above its start; a redelivery is skipped. A message polled
// after the revoke (or one of an epoch before a re-assignment) is dropped.
TEST(PartitionTable, AdmitsOnlyMessagesOfTheCurrentEpoch) {
    table_fixture f;
    const std::uint32_t idx = f.table.assign("t", 0, 10, 20);
    EXPECT_EQ(f.table.state(idx), partition_state::fetching);
    EXPECT_EQ(f.table.admit(idx, 9), verdict::before_start) << "fetched before the start of this epoch";
    EXPECT_EQ(f.table.admit(idx, 10), verdict::take);
    EXPECT_EQ(f.table.admit(idx, 11), verdict::take);
    EXPECT_EQ(f.table.admit(idx, 11), verdict::redelivered);
    EXPECT_EQ(f.table.admit(idx, 10), verdict::redelivered);
    f.table.set_paused(idx, true);
    EXPECT_EQ(f.table.state(idx), partition_state::paused);
    EXPECT_EQ(f.table.admit(idx, 12), verdict::take) << "a paused partition's messages already fetched are still ours";
    f.table.begin_revoke(idx);
    EXPECT_EQ(f.table.admit(idx, 13), verdict::not_assigned) << "revoking: nothing more is taken";
    f.table.release(idx);
    EXPECT_EQ(f.table.find("t", 0), UINT32_MAX);
    EXPECT_EQ(f.table.admit(idx, 14), verdict::not_assigned);
    EXPECT_EQ(f.metrics.source.stale_dropped.get(), 3u);
    EXPECT_EQ(f.metrics.source.redelivered.get(), 2u);

    // Assigned again (a new epoch from the committed offset 12): same index,
    // offsets from 12 are read again and counted as rebalance duplicates.
    const std::uint32_t again = f.table.assign("t", 0, 12, 20);
    EXPECT_EQ(again, idx);
    EXPECT_EQ(f.table.epoch(again), 2u);
    EXPECT_EQ(f.table.next_seq(again), 0u);
    EXPECT_EQ(f.table.admit(again, 11), verdict::before_start);
    EXPECT_EQ(f.table.admit(again, 12), verdict::take);
    EXPECT_EQ(f.table.admit(again, 13), verdict::take);
    EXPECT_EQ(f.metrics.source.rebalance_duplicates.get(), 1u) << "12 was taken in the first epoch, 13 was not";
}

// A reset opens a new epoch: a rewind reads offsets again without calling
// them redeliveries, nor rebalance duplicates.
TEST(PartitionTable, ResetOpensANewEpochAtTheNewPosition) {
    table_fixture f;
    const std::uint32_t idx = f.table.assign("t", 1, 100, 200);
    for (std::int64_t o = 100; o < 110; ++o) ASSERT_EQ(f.table.admit(idx, o), verdict::take);
    f.table.next_seq(idx) = 10;
    f.table.reset(idx, 50);
    EXPECT_EQ(f.table.epoch(idx), 2u);
    EXPECT_EQ(f.table.next_seq(idx), 0u);
    EXPECT_EQ(f.table.start(idx), 50);
    EXPECT_EQ(f.table.admit(idx, 49), verdict::before_start);
    EXPECT_EQ(f.table.admit(idx, 50), verdict::take);
    EXPECT_EQ(f.table.admit(idx, 105), verdict::take);
    EXPECT_EQ(f.metrics.source.redelivered.get(), 0u);
    EXPECT_EQ(f.metrics.source.rebalance_duplicates.get(), 0u);
}

// Indexes are reused once a partition is gone and nothing of it is in flight,
// so more partitions than indexes can pass through over the process's life;
// more held at once is an exception with a clear message, never a crash.
TEST(PartitionTable, ReusesIndexesAndRefusesClearlyWhenFull) {
    table_fixture f;  // 4 indexes
    std::vector<std::uint32_t> idx;
    for (int p = 0; p < 4; ++p) idx.push_back(f.table.assign("a", p, 0, 10));
    EXPECT_EQ(f.metrics.partition_count.load(), 4u);
    try {
        f.table.assign("b", 0, 0, 10);
        FAIL() << "a fifth partition at once fits nowhere";
    } catch (const partition_limit_error& e) {
        EXPECT_STREQ(e.what(), "more than 4 partitions assigned at once (or still finishing events): cannot take another");
    }
    // a[0] and a[1] go; an event of a[1] is still in flight.
    f.table.release(idx[0]);
    f.table.release(idx[1]);
    f.pool[3].partition = idx[1];
    f.pool[3].pending.store(1);
    EXPECT_THROW(f.table.assign("b", 0, 0, 10), partition_limit_error)
        << "the commit thread has not closed a[0]'s epoch yet: it may still read its name";
    for (std::uint32_t i : idx) f.metrics.partitions[i].closed_epoch.store(f.table.epoch(i));
    const std::uint32_t b0 = f.table.assign("b", 0, 0, 10);
    EXPECT_EQ(b0, idx[0]) << "a[0]'s index, free of events";
    EXPECT_EQ(f.metrics.partitions[b0].topic(), "b");
    EXPECT_EQ(f.metrics.partitions[b0].partition(), 0);
    EXPECT_THROW(f.table.assign("b", 1, 0, 10), partition_limit_error) << "a[1] still has an event in flight";
    f.pool[3].pending.store(0);
    const std::uint32_t b1 = f.table.assign("b", 1, 0, 10);
    EXPECT_EQ(b1, idx[1]);
    EXPECT_EQ(f.table.find("a", 1), UINT32_MAX);
    EXPECT_EQ(f.table.last_index("a", 1), UINT32_MAX) << "its index belongs to b[1] now";
    // a[0] comes back: it gets a free index, not b[0]'s.
    f.table.release(b1);
    f.metrics.partitions[b1].closed_epoch.store(f.table.epoch(b1));
    const std::uint32_t a0 = f.table.assign("a", 0, 5, 10);
    EXPECT_EQ(a0, idx[1]);
    EXPECT_EQ(f.metrics.partitions[a0].topic(), "a");
    EXPECT_EQ(f.metrics.partitions[b0].topic(), "b");
    EXPECT_EQ(f.metrics.partition_count.load(), 4u);
}

// The commit thread releases dead-letter deliveries into its own channel,
// which only it drains: a full ring spills into a list instead of waiting
// for a drain that cannot happen while the thread waits.
TEST(AckChannel, TheCommitThreadsOwnChannelNeverWaitsForItself) {
    release_metrics rm;
    waiter w1(wait_kind::park, 0, std::chrono::milliseconds(1)), w2(wait_kind::park, 0, std::chrono::milliseconds(1));
    ack_channel channel(16, rm, w1, w2);
    channel.same_thread_consumer();
    std::vector<in_flight_event> slots(100);
    auto fut = std::async(std::launch::async, [&] {
        for (std::size_t i = 0; i < slots.size(); ++i) {
            slots[i].partition = 7;
            slots[i].seq = i;
            slots[i].pending.store(1);
            channel.release(slots[i]);
        }
        std::vector<ack> out(256);
        std::size_t n = 0, got;
        while ((got = channel.drain(out.data() + n, 16)) > 0) n += got;
        return std::vector<ack>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    });
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready)
        << "release() waited for a drain only this thread could do";
    const std::vector<ack> acks = fut.get();
    ASSERT_EQ(acks.size(), 100u);
    std::vector<bool> seen(100, false);
    for (const ack& a : acks) {
        EXPECT_EQ(a.partition, 7u);
        ASSERT_LT(a.seq, 100u);
        EXPECT_FALSE(seen[a.seq]);
        seen[a.seq] = true;
    }
}

// The table is the one map of topic/partition to index: a lookup by the
// source's topic handle answers as the lookup by name does (an index only
// while assigned), matches a handle by name once, and after forget_handles()
// matches it again (the source's insurance against a library that reuses a
// freed handle's address for another topic).
TEST(PartitionTable, FindsByHandleAsByName) {
    table_fixture f;
    const std::uint32_t a0 = f.table.assign("a", 0, 0, 10);
    const std::uint32_t b2 = f.table.assign("b", 2, 0, 10);
    int a_handle = 0, b_handle = 0;  // stand-ins for rd_kafka_topic_t*
    int name_lookups = 0;
    const void* handle_of_a = &a_handle;
    auto names = [&](const void* h) {
        ++name_lookups;
        return std::string_view(h == handle_of_a ? "a" : "b");
    };
    EXPECT_EQ(f.table.find(&a_handle, 0, names), a0);
    EXPECT_EQ(f.table.find(&b_handle, 2, names), b2);
    EXPECT_EQ(name_lookups, 2);
    EXPECT_EQ(f.table.find(&a_handle, 0, names), a0);
    EXPECT_EQ(f.table.find(&b_handle, 2, names), b2);
    EXPECT_EQ(name_lookups, 2) << "a matched handle is not looked up by name again";
    EXPECT_EQ(f.table.find(&a_handle, 1, names), UINT32_MAX) << "a[1] was never assigned";
    EXPECT_EQ(f.table.find(&b_handle, -1, names), UINT32_MAX);
    EXPECT_EQ(f.table.find(nullptr, 0, names), UINT32_MAX);

    f.table.begin_revoke(a0);
    EXPECT_EQ(f.table.find(&a_handle, 0, names), a0) << "revoking is still assigned, as by name";
    f.table.release(a0);
    EXPECT_EQ(f.table.find(&a_handle, 0, names), UINT32_MAX) << "released: as by name";
    EXPECT_EQ(f.table.find("a", 0), UINT32_MAX);

    // The handle of a is forgotten and its address now stands for topic b.
    f.table.forget_handles();
    handle_of_a = nullptr;
    EXPECT_EQ(f.table.find(&a_handle, 2, names), b2);
    EXPECT_EQ(name_lookups, 3);
}

// A negative partition number is refused before anything is recorded: the
// topic's partitions, and the name each has, stay as they were.
TEST(PartitionTable, RefusesANegativePartition) {
    table_fixture f;
    EXPECT_THROW(f.table.assign("a", -1, 0, 10), std::invalid_argument);
    EXPECT_EQ(f.metrics.partition_count.load(), 0u) << "no index was taken";
    const std::uint32_t a0 = f.table.assign("a", 0, 0, 10);
    EXPECT_EQ(a0, 0u);
    EXPECT_EQ(f.table.name(a0).topic, "a");
    EXPECT_EQ(f.table.name(a0).partition, 0);
    EXPECT_EQ(f.table.find("a", 0), a0);
    EXPECT_EQ(f.table.find("a", -1), UINT32_MAX);
}
