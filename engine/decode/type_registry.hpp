// Interns event type names ("task.updated") into small dense ids.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "decode/event.hpp"

namespace sluice {

// Design: the source thread (the only writer) calls intern(); any thread may
// call name() for an id it received through a ring, and count(). Names are
// never removed or moved, so a published id stays valid for the process.
class type_registry {
public:
    static constexpr std::size_t max_types = 256;
    static constexpr std::size_t max_name = 64;
    static constexpr type_id none = 0xffff;

    // known: names to intern first, in this order (an event schema's
    // known_types()), so their ids do not depend on the events' order.
    explicit type_registry(std::span<const std::string_view> known = {});

    // Writer only. Returns none when the table is full or the name too long.
    type_id intern(std::string_view name) noexcept;
    // Writer only (or before other threads start); none when unknown.
    type_id find(std::string_view name) const noexcept;
    std::string_view name(type_id id) const noexcept {
        return {names_[id].data(), lengths_[id]};
    }
    std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }

private:
    std::size_t slot_of(std::string_view name) const noexcept;

    std::array<std::array<char, max_name>, max_types> names_{};
    std::array<std::uint8_t, max_types> lengths_{};
    std::array<type_id, max_types * 2> table_{};  // open addressing over ids
    std::atomic<std::size_t> count_{0};
};

// Design: one per reader thread (a sink), used by that thread only. What a
// reader does by event type, as a Kind per type id: decided from the name
// once, the first time the reader meets the id (a name may match a family,
// such as a prefix, that gains members at run time), then a table lookup.
template <typename Kind>
class type_classes {
public:
    using classify_fn = Kind (*)(std::string_view name) noexcept;
    type_classes(const type_registry& types, classify_fn classify) noexcept : types_(types), classify_(classify) {}

    // id: a type this thread received with an event (so below count()).
    Kind operator()(type_id id) noexcept {
        if (id >= known_) [[unlikely]] learn();
        return kinds_[id];
    }

private:
    void learn() noexcept {
        for (const std::size_t n = types_.count(); known_ < n; ++known_)
            kinds_[known_] = classify_(types_.name(static_cast<type_id>(known_)));
    }

    const type_registry& types_;
    classify_fn classify_;
    std::size_t known_ = 0;
    std::array<Kind, type_registry::max_types> kinds_{};
};

}  // namespace sluice
