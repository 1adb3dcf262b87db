// One tumbling window's aggregates: counts per type, top-K entities, unique users.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decode/type_registry.hpp"

namespace sluice {

// Top-K by the Space-Saving algorithm over a fixed table: exact while the
// number of distinct entities stays within the table, never allocates. An
// open-addressing index (hash -> entry) finds an entity in O(1); only a
// replacement in a full table scans the counts for the minimum.
class top_k_counter {
public:
    explicit top_k_counter(std::size_t table = 1024);
    void add(std::string_view id) noexcept;
    void clear() noexcept;
    struct item {
        std::string_view id;
        std::uint64_t count;
    };
    // The k largest, count descending then id ascending. Sorted in a buffer
    // sized with the table, so it does not allocate; valid until the next
    // call (the owner thread's).
    const std::vector<item>& top(std::size_t k) const;

private:
    struct entry {
        std::uint64_t hash = 0, count = 0;
        std::uint8_t len = 0;
        std::array<char, 63> id{};
    };
    std::size_t find_slot(std::uint64_t hash, std::string_view id) const noexcept;  // index slot
    void unindex(std::size_t entry_index) noexcept;

    std::vector<entry> entries_;
    std::vector<std::uint32_t> index_;  // entry index + 1; 0 = empty; at most half full
    std::size_t mask_;
    std::size_t used_ = 0;
    mutable std::vector<item> top_;
};

// Exact distinct count of 64-bit keys; grows by doubling (rare), cleared per window.
class distinct_counter {
public:
    distinct_counter() : table_(1 << 12, 0) {}
    void add(std::uint64_t key) noexcept;
    // Start loading the table entry add(key) will probe first.
    void prefetch(std::uint64_t key) const noexcept { __builtin_prefetch(&table_[home(key, table_.size() - 1)]); }
    void clear() noexcept;
    std::size_t size() const noexcept { return size_; }

private:
    static std::size_t home(std::uint64_t key, std::size_t mask) noexcept {
        return key * 0x9E3779B97F4A7C15ull >> 20 & mask;
    }

    std::vector<std::uint64_t> table_;
    std::size_t size_ = 0;
    bool has_zero_ = false;
};

// Design: one owner thread (the analytics sink).
class window_aggregate {
public:
    std::int64_t start_ns = 0, end_ns = 0;  // [start, end)
    std::array<std::uint64_t, type_registry::max_types> counts{};
    std::uint64_t events = 0, late = 0;
    top_k_counter top_articles, top_projects;
    distinct_counter users;

    void reset(std::int64_t start, std::int64_t length) noexcept;
    // JSON rollup; `final` false for a live (still open) view; closed_by says
    // why a final one closed ("window end", "idle", "shutdown").
    std::string to_json(const type_registry& types, std::size_t k, bool final, const char* closed_by = "") const;
    // The same into out, replacing its text but keeping its capacity: a
    // buffer written again and again stops allocating.
    void write_json(std::string& out, const type_registry& types, std::size_t k, bool final,
                    const char* closed_by = "") const;
};

}  // namespace sluice
