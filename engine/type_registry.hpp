// Interns event type names ("task.updated") into small dense ids.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "event.hpp"

namespace sluice {

// Design: the source thread (the only writer) calls intern(); any thread may
// call name() for an id it received through a ring, and count(). Names are
// never removed or moved, so a published id stays valid for the process.
class type_registry {
public:
    static constexpr std::size_t max_types = 256;
    static constexpr std::size_t max_name = 64;
    static constexpr type_id none = 0xffff;

    type_registry();

    // Writer only. Returns none when the table is full or the name too long.
    type_id intern(std::string_view name) noexcept;
    // Writer only (or before other threads start); none when unknown.
    type_id find(std::string_view name) const noexcept;
    std::string_view name(type_id id) const noexcept {
        return {names_[id].data(), lengths_[id]};
    }
    std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }

    // The event types of the seed systems, interned in this order at start.
    static const std::array<std::string_view, 19>& seed_types() noexcept;

private:
    std::size_t slot_of(std::string_view name) const noexcept;

    std::array<std::array<char, max_name>, max_types> names_{};
    std::array<std::uint8_t, max_types> lengths_{};
    std::array<type_id, max_types * 2> table_{};  // open addressing over ids
    std::atomic<std::size_t> count_{0};
};

}  // namespace sluice
