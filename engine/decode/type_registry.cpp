// Open-addressing intern table for event type names.
#include "decode/type_registry.hpp"

#include <cstring>

#include "base/key_hash.hpp"  // xxhash.h, inlined

namespace sluice {
namespace {
// Unseeded, unlike key_hash: a registry may be built before main(), and a
// crafted name costs at most a probe over this small, bounded table.
std::uint64_t name_hash(std::string_view s) noexcept { return XXH3_64bits(s.data(), s.size()); }
}  // namespace

type_registry::type_registry(std::span<const std::string_view> known) {
    table_.fill(none);
    for (auto t : known) intern(t);
}

std::size_t type_registry::slot_of(std::string_view name) const noexcept {
    std::size_t i = name_hash(name) & (table_.size() - 1);
    const std::size_t n = count_.load(std::memory_order_acquire);
    for (;;) {
        const type_id id = table_[i];
        if (id == none || id >= n) return i;
        if (lengths_[id] == name.size() && std::memcmp(names_[id].data(), name.data(), name.size()) == 0)
            return i;
        i = (i + 1) & (table_.size() - 1);
    }
}

type_id type_registry::find(std::string_view name) const noexcept {
    const type_id id = table_[slot_of(name)];
    return id < count_.load(std::memory_order_acquire) ? id : none;
}

type_id type_registry::intern(std::string_view name) noexcept {
    const std::size_t slot = slot_of(name);
    const std::size_t n = count_.load(std::memory_order_relaxed);
    if (table_[slot] != none && table_[slot] < n) return table_[slot];
    if (n >= max_types || name.size() >= max_name || name.empty()) return none;
    std::memcpy(names_[n].data(), name.data(), name.size());
    lengths_[n] = static_cast<std::uint8_t>(name.size());
    table_[slot] = static_cast<type_id>(n);
    // release: the name bytes are visible before any reader can see the id.
    count_.store(n + 1, std::memory_order_release);
    return static_cast<type_id>(n);
}

}  // namespace sluice
