// User directory keyed by normalised id.
#include "user_directory.hpp"

namespace sluice {

std::uint64_t user_directory::key_of(std::string_view id) noexcept {
    if (!id.empty() && id.size() <= 18) {
        std::uint64_t v = 0;
        bool digits = true;
        for (char c : id) {
            if (c < '0' || c > '9') {
                digits = false;
                break;
            }
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (digits) return v;
    }
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a, top bit set: never a plain number
    for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
    return h | (1ull << 63);
}

void user_directory::upsert(std::string_view id, std::string_view email, std::string_view username) {
    user_record& r = users_[key_of(id)];
    r.id.assign(id);
    r.email.assign(email);
    r.username.assign(username);
}

const user_record* user_directory::find(std::string_view id) const noexcept {
    if (id.empty()) return nullptr;
    auto it = users_.find(key_of(id));
    return it == users_.end() ? nullptr : &it->second;
}

}  // namespace sluice
