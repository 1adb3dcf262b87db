// FIFO-evicting hash set with backward-shift deletion.
#include "dedup_window.hpp"

#include <bit>

namespace sluice {

dedup_window::dedup_window(std::size_t capacity)
    : fifo_(capacity < 1 ? 1 : capacity), table_(std::bit_ceil(fifo_.size() * 2)), mask_(table_.size() - 1) {}

std::size_t dedup_window::find_slot(std::uint64_t h) const noexcept {
    std::size_t i = h & mask_;
    while (table_[i] != 0 && table_[i] != h) i = (i + 1) & mask_;
    return i;
}

void dedup_window::erase(std::uint64_t h) noexcept {
    std::size_t i = find_slot(h);
    if (table_[i] == 0) return;
    // Backward-shift: keep every probe chain unbroken without tombstones.
    std::size_t j = i;
    for (;;) {
        j = (j + 1) & mask_;
        if (table_[j] == 0) break;
        const std::size_t home = table_[j] & mask_;
        const bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!between) {
            table_[i] = table_[j];
            i = j;
        }
    }
    table_[i] = 0;
}

bool dedup_window::seen_or_insert(std::uint64_t h) noexcept {
    h = stored(h);
    const std::size_t i = find_slot(h);
    if (table_[i] == h) return true;
    if (count_ == fifo_.size()) {
        erase(fifo_[head_]);
        --count_;
    }
    table_[find_slot(h)] = h;
    fifo_[head_] = h;
    head_ = (head_ + 1) % fifo_.size();
    ++count_;
    // The next insert erases the oldest key: load its entry now (a miss in a
    // table larger than the cache) so that it arrives in the meantime.
    if (count_ == fifo_.size()) __builtin_prefetch(&table_[fifo_[head_] & mask_]);
    return false;
}

}  // namespace sluice
