// Per-partition contiguous watermark over out-of-order completions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

// One partition's in-flight events, in dispatch order. seq is a dense
// per-partition sequence assigned at dispatch (offsets may have gaps:
// compaction, transaction markers), so done(seq) is O(1).
class partition_watermark {
public:
    explicit partition_watermark(std::size_t capacity);

    static constexpr std::size_t max_capacity = std::size_t(1) << 26;

    // Events must be dispatched with seq = 0, 1, 2, ... and offsets increasing.
    // The ring grows (doubling) when more than capacity are in flight; returns
    // false (and records nothing) for a seq out of order or past max_capacity.
    bool dispatched(std::uint64_t seq, std::int64_t offset) noexcept;
    // Returns false for a seq that is not in flight (never dispatched, or done twice).
    bool done(std::uint64_t seq) noexcept;

    // Offset to commit (last contiguous done offset + 1), or -1 if nothing is done yet.
    std::int64_t commit_offset() const noexcept { return commit_offset_; }
    // Number of dispatched events before the first not-done one.
    std::uint64_t low_seq() const noexcept { return low_; }
    std::uint64_t dispatched_count() const noexcept { return next_; }
    std::uint64_t done_count() const noexcept { return done_count_; }
    std::uint64_t in_flight() const noexcept { return next_ - done_count_; }

private:
    struct entry {
        std::int64_t offset;
        bool done;
    };
    std::vector<entry> ring_;
    std::uint64_t mask_;
    std::uint64_t low_ = 0;   // first seq not yet done
    std::uint64_t next_ = 0;  // next seq to be dispatched
    std::uint64_t done_count_ = 0;
    std::int64_t commit_offset_ = -1;
};

// Commit bookkeeping of one partition on top of its watermark: what has been
// asked of Kafka, what Kafka confirmed, and the replay exposure (events
// processed but not covered by a confirmed commit).
class partition_commits {
public:
    explicit partition_commits(std::size_t capacity) : marks_(capacity) {}

    partition_watermark& marks() noexcept { return marks_; }
    const partition_watermark& marks() const noexcept { return marks_; }

    // True when the watermark moved past the last requested commit.
    bool needs_commit() const noexcept {
        return marks_.commit_offset() >= 0 && marks_.commit_offset() > requested_offset_;
    }
    // Records a commit request of commit_offset() made at now_ns.
    void requested(std::int64_t now_ns) noexcept;
    // Kafka confirmed a commit of offset (from a request made earlier).
    void confirmed(std::int64_t offset) noexcept;
    // A request failed: the next needs_commit() asks again.
    void failed(std::int64_t offset) noexcept;

    std::int64_t committed_offset() const noexcept { return committed_offset_; }
    // Events processed but not yet covered by a confirmed commit: what a crash
    // now would deliver again.
    std::uint64_t exposure() const noexcept { return marks_.done_count() - committed_seq_; }
    // Monotonic ns since which the oldest exposed event has waited (0 if none):
    // an upper bound, exact to one commit round.
    std::int64_t exposed_since_ns(std::int64_t now_ns) const noexcept;
    void note_done(std::int64_t now_ns) noexcept {
        if (exposure_start_ns_ == 0) exposure_start_ns_ = now_ns;
    }

private:
    struct request {
        std::int64_t offset;
        std::uint64_t seq;
        std::int64_t at_ns;
    };
    partition_watermark marks_;
    std::vector<request> requests_;  // outstanding, in request order (few)
    std::int64_t requested_offset_ = -1;
    std::int64_t committed_offset_ = -1;
    std::uint64_t committed_seq_ = 0;
    std::int64_t exposure_start_ns_ = 0;
};

}  // namespace sluice
