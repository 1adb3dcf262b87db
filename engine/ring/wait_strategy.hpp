// How an idle thread waits for work: spin, spin-then-park, or park.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

enum class wait_kind { spin, spin_then_park, park };

// One spin-wait step: tells the CPU this is a busy loop (saves power, yields
// the core to an SMT sibling).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// Throws std::invalid_argument naming the accepted values.
wait_kind parse_wait_kind(std::string_view text);
std::string_view to_string(wait_kind kind) noexcept;

// Design: one waiting (consumer) thread calls idle()/reset(); any number of
// producers call notify() after publishing work. A parked waiter sleeps on a
// futex with a timeout, so periodic duties (commit intervals, retries) still
// run; notify() costs one fence and a load unless the waiter is asleep.
class waiter {
public:
    waiter(wait_kind kind, std::uint32_t spins, std::chrono::microseconds max_park)
        : kind_(kind), spins_(spins), max_park_(max_park) {}

    // Waiting thread: called when a poll round found nothing to do. has_work is
    // re-checked after announcing sleep so a notify between the check and the
    // sleep is never lost.
    template <typename HasWork>
    void idle(HasWork&& has_work) noexcept {
        idle(has_work, max_park_);
    }
    // As above, sleeping at most park_for (for callers with timers due sooner).
    template <typename HasWork>
    void idle(HasWork&& has_work, std::chrono::microseconds park_for) noexcept {
        ++idle_rounds_;
        if (kind_ == wait_kind::spin ||
            (kind_ == wait_kind::spin_then_park && idle_rounds_ < spins_)) {
            cpu_relax();
            return;
        }
        // Read the generation before re-checking, so a wake that lands between
        // the check and the futex call makes the futex return at once.
        const std::uint32_t gen = generation_.load(std::memory_order_acquire);
        sleeping_.store(1, std::memory_order_seq_cst);
        if (!has_work()) sleep_on_futex(gen, park_for);
        sleeping_.store(0, std::memory_order_relaxed);
        idle_rounds_ = 0;
    }

    // Waiting thread: work was found.
    void reset() noexcept { idle_rounds_ = 0; }

    // Any producer, after its release-store of new work.
    void notify() noexcept {
        // seq_cst fence: our work store is ordered before reading sleeping_,
        // pairing with the waiter's seq_cst store before it re-checks work.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_relaxed) != 0) wake();
    }

    // Any thread: wake unconditionally (shutdown, control commands).
    void wake() noexcept;

    wait_kind kind() const noexcept { return kind_; }

private:
    void sleep_on_futex(std::uint32_t gen, std::chrono::microseconds park_for) noexcept;

    const wait_kind kind_;
    const std::uint32_t spins_;
    const std::chrono::microseconds max_park_;
    std::uint32_t idle_rounds_ = 0;
    alignas(64) std::atomic<std::uint32_t> sleeping_{0};
    std::atomic<std::uint32_t> generation_{0};
};

}  // namespace sluice
