// User directory: records in a vector behind an open-addressing index.
#include "user_directory.hpp"

#include "base/key_hash.hpp"

namespace sluice {

user_directory::user_directory() : index_(1 << 14) {}

std::uint64_t user_directory::hash(std::string_view id) noexcept { return key_hash(id); }

void user_directory::upsert(std::string_view id, std::string_view email, std::string_view username) {
    const std::uint64_t h = hash(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        slot& s = index_[i];
        if (s.record == 0) {
            records_.push_back({std::string(id), std::string(email), std::string(username)});
            s = {tag, static_cast<std::uint32_t>(records_.size())};
            if (records_.size() * 2 > index_.size()) grow();
            return;
        }
        user_record& r = records_[s.record - 1];
        if (s.tag == tag && r.id == id) {
            r.email.assign(email);
            r.username.assign(username);
            return;
        }
    }
}

const user_record* user_directory::find(std::string_view id) const noexcept {
    if (id.empty()) return nullptr;
    const std::uint64_t h = hash(id);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        const slot& s = index_[i];
        if (s.record == 0) return nullptr;
        const user_record& r = records_[s.record - 1];
        if (s.tag == tag && r.id == id) return &r;
    }
}

void user_directory::grow() {
    std::vector<slot> bigger(index_.size() * 2);
    const std::size_t mask = bigger.size() - 1;
    for (std::uint32_t n = 0; n < records_.size(); ++n) {
        const std::uint64_t h = hash(records_[n].id);
        std::size_t i = h & mask;
        while (bigger[i].record != 0) i = (i + 1) & mask;
        bigger[i] = {static_cast<std::uint32_t>(h >> 32), n + 1};
    }
    index_.swap(bigger);
}

}  // namespace sluice
