// Space-Saving top-K, open-addressing distinct counter, rollup rendering.
#include "window_aggregate.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/json_writer.hpp"
#include "base/key_hash.hpp"
#include "base/timestamp.hpp"

namespace sluice {

top_k_counter::top_k_counter(std::size_t table)
    : entries_(table < 1 ? 1 : table), index_(std::bit_ceil(entries_.size() * 2)), mask_(index_.size() - 1) {
    top_.reserve(entries_.size());
}

std::size_t top_k_counter::find_slot(std::uint64_t h, std::string_view id) const noexcept {
    std::size_t i = h & mask_;
    while (index_[i] != 0) {
        const entry& e = entries_[index_[i] - 1];
        if (e.hash == h && std::string_view(e.id.data(), e.len) == id) break;
        i = (i + 1) & mask_;
    }
    return i;
}

void top_k_counter::unindex(std::size_t entry_index) noexcept {
    const entry& gone = entries_[entry_index];
    std::size_t i = find_slot(gone.hash, std::string_view(gone.id.data(), gone.len));
    // Backward-shift deletion keeps every probe chain unbroken.
    std::size_t j = i;
    for (;;) {
        j = (j + 1) & mask_;
        if (index_[j] == 0) break;
        const std::size_t home = entries_[index_[j] - 1].hash & mask_;
        const bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!between) {
            index_[i] = index_[j];
            i = j;
        }
    }
    index_[i] = 0;
}

void top_k_counter::add(std::string_view id) noexcept {
    if (id.size() > 63) id = id.substr(0, 63);
    const std::uint64_t h = key_hash(id) | 1;
    std::size_t slot = find_slot(h, id);
    if (index_[slot] != 0) {
        ++entries_[index_[slot] - 1].count;
        return;
    }
    std::size_t n;
    if (used_ < entries_.size()) {
        n = used_++;
        entries_[n].count = 0;
    } else {
        // Space-Saving: replace the (first) minimum, inheriting its count.
        n = static_cast<std::size_t>(std::min_element(entries_.begin(), entries_.end(),
                                                      [](const entry& a, const entry& b) { return a.count < b.count; }) -
                                     entries_.begin());
        unindex(n);
        slot = find_slot(h, id);  // the shift may have moved the free slot
    }
    entry& e = entries_[n];
    e.hash = h;
    e.len = static_cast<std::uint8_t>(id.size());
    std::memcpy(e.id.data(), id.data(), id.size());
    ++e.count;
    index_[slot] = static_cast<std::uint32_t>(n + 1);
}

void top_k_counter::clear() noexcept {
    used_ = 0;
    std::fill(index_.begin(), index_.end(), 0);
}

const std::vector<top_k_counter::item>& top_k_counter::top(std::size_t k) const {
    std::vector<item>& all = top_;
    all.clear();
    for (std::size_t i = 0; i < used_; ++i)
        all.push_back({std::string_view(entries_[i].id.data(), entries_[i].len), entries_[i].count});
    std::sort(all.begin(), all.end(), [](const item& a, const item& b) {
        return a.count != b.count ? a.count > b.count : a.id < b.id;
    });
    if (all.size() > k) all.resize(k);
    return all;
}

void distinct_counter::add(std::uint64_t key) noexcept {
    if (key == 0) {  // 0 marks an empty cell: count it apart
        size_ += has_zero_ ? 0 : 1;
        has_zero_ = true;
        return;
    }
    std::size_t mask = table_.size() - 1;
    std::size_t i = home(key, mask);
    while (table_[i] != 0) {
        if (table_[i] == key) return;
        i = (i + 1) & mask;
    }
    table_[i] = key;
    if (++size_ * 2 > table_.size()) {
        std::vector<std::uint64_t> old(table_.size() * 2, 0);
        old.swap(table_);
        mask = table_.size() - 1;
        for (std::uint64_t k : old) {
            if (!k) continue;
            std::size_t j = home(k, mask);
            while (table_[j] != 0) j = (j + 1) & mask;
            table_[j] = k;
        }
    }
}

void distinct_counter::clear() noexcept {
    std::fill(table_.begin(), table_.end(), 0);
    size_ = 0;
    has_zero_ = false;
}

void window_aggregate::reset(std::int64_t start, std::int64_t length) noexcept {
    start_ns = start;
    end_ns = start + length;
    counts.fill(0);
    events = late = 0;
    top_articles.clear();
    top_projects.clear();
    users.clear();
}

std::string window_aggregate::to_json(const type_registry& types, std::size_t k, bool final, const char* closed_by) const {
    std::string out;
    write_json(out, types, k, final, closed_by);
    return out;
}

void window_aggregate::write_json(std::string& out, const type_registry& types, std::size_t k, bool final,
                                  const char* closed_by) const {
    out.clear();
    json_writer w(out);
    char a[40], b[40];
    w.begin_object()
        .field("window_start", std::string_view(a, format_iso8601_ms(start_ns, a)))
        .field("window_end", std::string_view(b, format_iso8601_ms(end_ns, b)))
        .field("final", final);
    if (final) w.field("closed_by", closed_by);
    w.field("events", events)
        .field("late_events", late)
        .field("unique_users", static_cast<std::uint64_t>(users.size()));
    w.key("counts").begin_object();
    for (std::size_t i = 0; i < types.count(); ++i)
        if (counts[i]) w.escaped_key(types.name(static_cast<type_id>(i))).value(counts[i]);
    w.end_object();
    auto list = [&](std::string_view name, const top_k_counter& t) {
        w.key(name).begin_array();
        for (const auto& it : t.top(k)) w.begin_object().field("id", it.id).field("views", it.count).end_object();
        w.end_array();
    };
    list("top_articles", top_articles);
    list("top_projects", top_projects);
    w.end_object();
}

}  // namespace sluice
