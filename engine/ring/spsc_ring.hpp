// Bounded single-producer/single-consumer ring carrying trivially copyable items.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace sluice {

inline constexpr std::size_t cache_line = 64;

// Design: exactly one producer thread calls try_push/push_batch/size_approx;
// exactly one consumer thread calls front/pop/pop_batch. Each index lives on its
// own cache line next to the owner's cached copy of the other side's index, so
// the two threads touch shared lines only when the cached copy says full/empty.
template <typename T>
class spsc_ring {
    static_assert(std::is_trivially_copyable_v<T>, "ring items are copied by value");

public:
    explicit spsc_ring(std::size_t capacity)
        : mask_(std::bit_ceil(capacity < 2 ? 2 : capacity) - 1),
          prefetch_ahead_(std::min<std::uint64_t>(prefetch_lines * cache_line / sizeof(T),
                                                  (mask_ + 1) / 4)),
          slots_(std::make_unique<T[]>(mask_ + 1)) {
        if (capacity == 0) throw std::invalid_argument("spsc_ring capacity must be > 0");
    }

    spsc_ring(const spsc_ring&) = delete;
    spsc_ring& operator=(const spsc_ring&) = delete;

    std::size_t capacity() const noexcept { return mask_ + 1; }

    // Producer only.
    [[nodiscard]] bool try_push(const T& item) noexcept {
        const std::uint64_t w = write_.load(std::memory_order_relaxed);  // own index
        if (w - read_cached_ > mask_) {
            // acquire: the consumer's slot reads happen-before we overwrite them.
            read_cached_ = read_.load(std::memory_order_acquire);
            if (w - read_cached_ > mask_) return false;
        }
        // Ask now for the line written prefetch_ahead_ items on: it was last
        // read by the consumer, and its transfer overlaps the pushes between.
        __builtin_prefetch(&slots_[(w + prefetch_ahead_) & mask_], 1);
        slots_[w & mask_] = item;
        // release: the slot contents are visible before the consumer sees the index.
        write_.store(w + 1, std::memory_order_release);
        return true;
    }

    // Producer only: push up to n items in one index update; returns how many.
    [[nodiscard]] std::size_t try_push_batch(const T* items, std::size_t n) noexcept {
        const std::uint64_t w = write_.load(std::memory_order_relaxed);
        std::uint64_t free = mask_ + 1 - (w - read_cached_);
        if (free < n) {
            read_cached_ = read_.load(std::memory_order_acquire);  // see try_push()
            free = mask_ + 1 - (w - read_cached_);
        }
        const std::size_t count = n < free ? n : static_cast<std::size_t>(free);
        for (std::size_t i = 0; i < count; ++i) slots_[(w + i) & mask_] = items[i];
        write_.store(w + count, std::memory_order_release);  // see try_push()
        return count;
    }

    // Producer only: free slots as the producer last saw them (may be stale low).
    std::size_t free_approx() noexcept {
        read_cached_ = read_.load(std::memory_order_acquire);
        return capacity() - (write_.load(std::memory_order_relaxed) - read_cached_);
    }

    // Consumer only: pointer to the oldest item, or nullptr when empty. Read in
    // place, then pop().
    T* front() noexcept {
        const std::uint64_t r = read_.load(std::memory_order_relaxed);  // own index
        if (r == write_cached_) {
            // acquire: pairs with the producer's release so the slot is complete.
            write_cached_ = write_.load(std::memory_order_acquire);
            if (r == write_cached_) return nullptr;
        }
        return &slots_[r & mask_];
    }

    // Consumer only: drop the item front() returned.
    void pop() noexcept {
        const std::uint64_t r = read_.load(std::memory_order_relaxed);
        // release: our read of the slot happens-before the producer reuses it.
        read_.store(r + 1, std::memory_order_release);
    }

    // Consumer only: copy up to max items out and pop them in one index update.
    std::size_t pop_batch(T* out, std::size_t max) noexcept {
        const std::uint64_t r = read_.load(std::memory_order_relaxed);
        std::uint64_t avail = write_cached_ - r;
        if (avail < max) {
            // Refresh only when the cached view cannot fill the batch. acquire: see front().
            write_cached_ = write_.load(std::memory_order_acquire);
            avail = write_cached_ - r;
            if (avail == 0) return 0;
        }
        const std::size_t n = avail < max ? static_cast<std::size_t>(avail) : max;
        for (std::size_t i = 0; i < n; ++i) out[i] = slots_[(r + i) & mask_];
        read_.store(r + n, std::memory_order_release);  // see pop()
        return n;
    }

    // Either thread: a hint only, for stats and wake-up decisions.
    bool empty_approx() const noexcept {
        return write_.load(std::memory_order_acquire) == read_.load(std::memory_order_acquire);
    }
    std::size_t size_approx() const noexcept {
        return static_cast<std::size_t>(write_.load(std::memory_order_acquire) -
                                        read_.load(std::memory_order_acquire));
    }

private:
    // A line moving between two cores costs far more than a push, so the
    // producer keeps many lines on their way to keep from stalling on each.
    // 16 lines is fast both when lines move slowly between cores and when
    // they move quickly (bench_ring, single items; perf/README.md, The
    // ring). A ring of fewer items prefetches at most a quarter of it ahead,
    // clear of the consumer.
    static constexpr std::uint64_t prefetch_lines = 16;

    const std::uint64_t mask_;
    const std::uint64_t prefetch_ahead_;  // items
    std::unique_ptr<T[]> slots_;

    alignas(cache_line) std::atomic<std::uint64_t> write_{0};
    std::uint64_t read_cached_{0};  // producer's copy of read_

    alignas(cache_line) std::atomic<std::uint64_t> read_{0};
    std::uint64_t write_cached_{0};  // consumer's copy of write_

    char pad_[cache_line - sizeof(std::uint64_t) * 2];
};

}  // namespace sluice
