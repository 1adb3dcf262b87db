// Watermark and commit bookkeeping.
#include "commit/commit_tracker.hpp"

#include <bit>

namespace sluice {

partition_watermark::partition_watermark(std::size_t capacity)
    : ring_(std::bit_ceil(capacity < 2 ? 2 : capacity)), mask_(ring_.size() - 1) {}

bool partition_watermark::dispatched(std::uint64_t seq, std::int64_t offset) noexcept {
    if (seq != next_) return false;
    if (next_ - low_ > mask_) {
        // More in flight than expected (events that hold no slot, such as
        // unrouted ones, queued behind a slow one): grow rather than refuse.
        if (ring_.size() >= max_capacity) return false;
        std::vector<entry> bigger(ring_.size() * 2);
        for (std::uint64_t s = low_; s < next_; ++s) bigger[s & (bigger.size() - 1)] = ring_[s & mask_];
        ring_.swap(bigger);
        mask_ = ring_.size() - 1;
    }
    ring_[seq & mask_] = {offset, false};
    ++next_;
    return true;
}

bool partition_watermark::done(std::uint64_t seq) noexcept {
    if (seq < low_ || seq >= next_) return false;
    entry& e = ring_[seq & mask_];
    if (e.done) return false;
    e.done = true;
    ++done_count_;
    while (low_ < next_ && ring_[low_ & mask_].done) {
        commit_offset_ = ring_[low_ & mask_].offset + 1;
        ++low_;
    }
    return true;
}

void partition_commits::requested(std::int64_t now_ns) noexcept {
    requested_offset_ = marks_.commit_offset();
    requests_.push_back({requested_offset_, marks_.low_seq(), now_ns});
}

void partition_commits::confirmed(std::int64_t offset) noexcept {
    if (offset > committed_offset_) committed_offset_ = offset;
    // Requests are answered in order; everything up to this offset is settled.
    std::size_t drop = 0;
    while (drop < requests_.size() && requests_[drop].offset <= offset) {
        if (requests_[drop].seq > committed_seq_) committed_seq_ = requests_[drop].seq;
        // Events after this request were processed after it was made.
        exposure_start_ns_ = drop + 1 < requests_.size() ? requests_[drop + 1].at_ns
                                                         : requests_[drop].at_ns;
        ++drop;
    }
    requests_.erase(requests_.begin(), requests_.begin() + static_cast<std::ptrdiff_t>(drop));
    if (exposure() == 0) exposure_start_ns_ = 0;
}

void partition_commits::failed(std::int64_t offset) noexcept {
    std::size_t i = 0;
    while (i < requests_.size() && requests_[i].offset != offset) ++i;
    if (i < requests_.size()) requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(i));
    if (requested_offset_ == offset) requested_offset_ = committed_offset_;
}

std::int64_t partition_commits::exposed_since_ns(std::int64_t now_ns) const noexcept {
    if (exposure() == 0 || exposure_start_ns_ == 0) return 0;
    return now_ns - exposure_start_ns_;
}

}  // namespace sluice
