// The user directory: user id -> email and username, built from user.created events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct user_record {
    std::string id;
    std::string email;
    std::string username;
};

// Design: owned by the thread that runs one sink (each sink that joins on users keeps its
// own replica, fed by its own directory_follower). Ids are compared as text:
// the decoder prints numeric ids in decimal, so task-style 7 and
// portfolio-style "7" are the same user. Records sit in one vector, found
// through an open-addressing index of (hash tag, record number), so a lookup
// compares the id text only where the tags match.
class user_directory {
public:
    user_directory();

    void upsert(std::string_view id, std::string_view email, std::string_view username);
    // The record of exactly this id, or nullptr. Valid until the next upsert().
    const user_record* find(std::string_view id) const noexcept;
    // Start loading the index entry find(id) will probe first.
    void prefetch(std::string_view id) const noexcept {
        if (!id.empty()) __builtin_prefetch(&index_[hash(id) & (index_.size() - 1)]);
    }
    // Once prefetch(id) has brought its index entry in: start loading the
    // record that entry names, which find() would otherwise wait for after
    // the entry (on a large directory, most of find()'s time).
    void prefetch_record(std::string_view id) const noexcept {
        if (id.empty()) return;
        const std::uint64_t h = hash(id);
        const slot& s = index_[h & (index_.size() - 1)];
        if (s.record == 0 || s.tag != static_cast<std::uint32_t>(h >> 32)) return;
        const char* r = reinterpret_cast<const char*>(&records_[s.record - 1]);
        __builtin_prefetch(r);
        __builtin_prefetch(r + sizeof(user_record) - 1);
    }
    std::size_t size() const noexcept { return records_.size(); }

private:
    struct slot {
        std::uint32_t tag = 0;     // high half of the id's hash
        std::uint32_t record = 0;  // index into records_ + 1; 0: empty
    };
    static std::uint64_t hash(std::string_view id) noexcept;
    void grow();

    std::vector<user_record> records_;
    std::vector<slot> index_;  // power-of-two size, at most half full
};

}  // namespace sluice
