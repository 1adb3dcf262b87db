// The user directory: user id -> email and username, built from user.created events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice {

struct user_record {
    std::string id;
    std::string email;
    std::string username;
};

// Design: owned by one sink thread (each sink that joins on users keeps its
// own replica, fed by its own directory_follower).
class user_directory {
public:
    user_directory() { users_.reserve(1 << 16); }

    // Numeric ids ("7") and their JSON number form join; other strings by value.
    static std::uint64_t key_of(std::string_view id) noexcept;

    void upsert(std::string_view id, std::string_view email, std::string_view username);
    const user_record* find(std::string_view id) const noexcept;
    std::size_t size() const noexcept { return users_.size(); }

private:
    std::unordered_map<std::uint64_t, user_record> users_;
};

}  // namespace sluice
