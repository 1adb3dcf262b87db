// Futex-based parking for waiter.
#include "ring/wait_strategy.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

namespace sluice {

wait_kind parse_wait_kind(std::string_view text) {
    if (text == "spin") return wait_kind::spin;
    if (text == "spin-then-park") return wait_kind::spin_then_park;
    if (text == "park") return wait_kind::park;
    throw std::invalid_argument("must be one of spin, spin-then-park, park (got '" +
                                std::string(text) + "')");
}

std::string_view to_string(wait_kind kind) noexcept {
    switch (kind) {
        case wait_kind::spin: return "spin";
        case wait_kind::spin_then_park: return "spin-then-park";
        case wait_kind::park: return "park";
    }
    return "?";
}

void waiter::sleep_on_futex(std::uint32_t gen, std::chrono::microseconds park_for) noexcept {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(park_for.count() / 1'000'000);
    ts.tv_nsec = static_cast<long>((park_for.count() % 1'000'000) * 1000);
    // Returns early on wake, signal or if generation_ moved on; all are fine.
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&generation_), FUTEX_WAIT_PRIVATE, gen,
            &ts, nullptr, 0);
}

void waiter::wake() noexcept {
    generation_.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&generation_), FUTEX_WAKE_PRIVATE, 1,
            nullptr, nullptr, 0);
}

}  // namespace sluice
