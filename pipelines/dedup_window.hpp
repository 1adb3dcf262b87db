// Remembers the last N event keys (by 64-bit hash) to drop duplicates.
#pragma once

#include <cstdint>
#include <vector>

namespace sluice {

// Design: one owner thread. Fixed memory: a FIFO of the last `capacity`
// hashes and an open-addressing table over them (load <= 50%), so a lookup is
// O(1) and nothing allocates after construction. Hash 0 is reserved as empty.
class dedup_window {
public:
    explicit dedup_window(std::size_t capacity);

    // True if h was seen within the window; otherwise remembers it.
    bool seen_or_insert(std::uint64_t h) noexcept;
    // Start loading the table entry seen_or_insert(h) will probe first.
    void prefetch(std::uint64_t h) const noexcept { __builtin_prefetch(&table_[stored(h) & mask_]); }
    std::size_t size() const noexcept { return count_; }

private:
    // 0 marks an empty entry: hash 0 is kept as 1.
    static std::uint64_t stored(std::uint64_t h) noexcept { return h ? h : 1; }
    std::size_t find_slot(std::uint64_t h) const noexcept;
    void erase(std::uint64_t h) noexcept;

    std::vector<std::uint64_t> fifo_;
    std::vector<std::uint64_t> table_;
    std::size_t head_ = 0, count_ = 0, mask_;
};

}  // namespace sluice
