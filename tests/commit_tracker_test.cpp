// Watermark rules under out-of-order acks, and commit/exposure bookkeeping.
#include "commit/commit_tracker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using sluice::partition_commits;
using sluice::partition_watermark;

TEST(Watermark, NothingCommittableUntilTheFirstEventIsDone) {
    partition_watermark w(8);
    ASSERT_TRUE(w.dispatched(0, 100));
    ASSERT_TRUE(w.dispatched(1, 101));
    EXPECT_EQ(w.commit_offset(), -1);
    ASSERT_TRUE(w.done(1));
    EXPECT_EQ(w.commit_offset(), -1);  // 100 still in flight
    ASSERT_TRUE(w.done(0));
    EXPECT_EQ(w.commit_offset(), 102);
}

TEST(Watermark, GapsInOffsetsCommitLastDonePlusOne) {
    partition_watermark w(8);
    w.dispatched(0, 10);
    w.dispatched(1, 15);  // 11..14 compacted away
    w.dispatched(2, 40);
    w.done(0);
    EXPECT_EQ(w.commit_offset(), 11);
    w.done(2);
    EXPECT_EQ(w.commit_offset(), 11);
    w.done(1);
    EXPECT_EQ(w.commit_offset(), 41);
}

TEST(Watermark, RejectsDoubleDoneAndUnknownSeqAndGrowsPastCapacity) {
    partition_watermark w(2);
    EXPECT_FALSE(w.done(0));
    EXPECT_FALSE(w.dispatched(1, 5));  // must be dense from 0
    EXPECT_TRUE(w.dispatched(0, 5));
    EXPECT_TRUE(w.dispatched(1, 6));
    EXPECT_TRUE(w.done(0));
    EXPECT_FALSE(w.done(0));
    EXPECT_TRUE(w.dispatched(2, 7));
    EXPECT_EQ(w.in_flight(), 2u);
    // Seq 1 stays open while many more pass it: the ring grows, nothing is lost.
    for (std::uint64_t s = 3; s < 100; ++s) ASSERT_TRUE(w.dispatched(s, std::int64_t(s + 4)));
    for (std::uint64_t s = 2; s < 100; ++s) ASSERT_TRUE(w.done(s));
    EXPECT_EQ(w.commit_offset(), 6);
    EXPECT_TRUE(w.done(1));
    EXPECT_EQ(w.commit_offset(), 104);
}

// Random interleavings of acks: the watermark always equals the first
// not-done offset, and never passes an unfinished event.
TEST(Watermark, RandomOutOfOrderAcksNeverSkipAnEvent) {
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
        partition_watermark w(64);
        std::vector<std::uint64_t> inflight;
        std::vector<bool> done(5000, false);
        std::uint64_t next = 0;
        while (next < 5000 || !inflight.empty()) {
            if (next < 5000 && inflight.size() < 64 && rng() % 2) {
                ASSERT_TRUE(w.dispatched(next, std::int64_t(next * 2)));
                inflight.push_back(next++);
            } else if (!inflight.empty()) {
                std::size_t i = rng() % inflight.size();
                const auto seq = inflight[i];
                inflight.erase(inflight.begin() + std::ptrdiff_t(i));
                ASSERT_TRUE(w.done(seq));
                done[seq] = true;
                std::uint64_t first_open = 0;
                while (first_open < next && done[first_open]) ++first_open;
                const std::int64_t expect = first_open == 0 ? -1 : std::int64_t((first_open - 1) * 2 + 1);
                ASSERT_EQ(w.commit_offset(), expect);
            }
        }
        EXPECT_EQ(w.commit_offset(), 9999);
        EXPECT_EQ(w.done_count(), 5000u);
    }
}

TEST(PartitionCommits, ExposureCountsProcessedButUnconfirmed) {
    partition_commits c(16);
    for (std::uint64_t i = 0; i < 5; ++i) c.marks().dispatched(i, std::int64_t(i));
    c.marks().done(0);
    c.marks().done(1);
    c.marks().done(3);
    EXPECT_EQ(c.exposure(), 3u);
    EXPECT_TRUE(c.needs_commit());
    c.requested(1000);
    EXPECT_FALSE(c.needs_commit());
    c.confirmed(2);
    EXPECT_EQ(c.committed_offset(), 2);
    EXPECT_EQ(c.exposure(), 1u);  // seq 3 done, not covered
    c.marks().done(2);
    c.marks().done(4);
    c.requested(2000);
    c.failed(5);
    EXPECT_TRUE(c.needs_commit());  // failed: ask again
    c.requested(3000);
    c.confirmed(5);
    EXPECT_EQ(c.exposure(), 0u);
    EXPECT_EQ(c.exposed_since_ns(5000), 0);
}
