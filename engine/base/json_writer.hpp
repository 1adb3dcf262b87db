// Appends JSON to a reused std::string (no allocation once it has grown).
#pragma once

#include <charconv>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class json_writer {
public:
    explicit json_writer(std::string& out) : out_(out) {}

    json_writer& begin_object() { sep(); out_.push_back('{'); first_ = true; return *this; }
    json_writer& end_object() { out_.push_back('}'); first_ = false; return *this; }
    json_writer& begin_array() { sep(); out_.push_back('['); first_ = true; return *this; }
    json_writer& end_array() { out_.push_back(']'); first_ = false; return *this; }
    // A key known to need no escaping (the literals in our code).
    json_writer& key(std::string_view k) {
        sep();
        out_.push_back('"');
        out_.append(k);
        out_.append("\":", 2);
        first_ = true;  // the value follows without a comma
        return *this;
    }
    // A key that comes from input data.
    json_writer& escaped_key(std::string_view k) {
        sep();
        string_body(k);
        out_.push_back(':');
        first_ = true;
        return *this;
    }
    json_writer& value(std::string_view s) { sep(); string_body(s); return *this; }
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(std::int64_t v) { sep(); number(v); return *this; }
    json_writer& value(std::uint64_t v) { sep(); number(v); return *this; }
    json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
    json_writer& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
    json_writer& value(double v) {
        sep();
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
        out_.append(buf, static_cast<std::size_t>(end - buf));
        return *this;
    }
    json_writer& value(bool v) { sep(); out_.append(v ? "true" : "false"); return *this; }
    json_writer& null() { sep(); out_.append("null"); return *this; }
    // A value that is already JSON.
    json_writer& raw(std::string_view json) { sep(); out_.append(json); return *this; }

    template <typename T>
    json_writer& field(std::string_view k, T v) { return key(k).value(v); }

private:
    void sep() {
        if (!first_) out_.push_back(',');
        first_ = false;
    }
    template <typename N>
    void number(N v) {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, static_cast<std::size_t>(end - buf));
    }
    void string_body(std::string_view s) {
        out_.push_back('"');
        // Copy runs that need no escaping in one append; escape the rest.
        std::size_t run = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            // Skip 8 clean bytes at a time (SWAR: no control char, '"' or '\\').
            while (i + 8 <= s.size() && !needs_escape8(s.data() + i)) i += 8;
            if (i >= s.size()) break;
            const unsigned char c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            out_.append(s.data() + run, i - run);
            run = i + 1;
            switch (c) {
                case '"': out_.append("\\\""); break;
                case '\\': out_.append("\\\\"); break;
                case '\n': out_.append("\\n"); break;
                case '\r': out_.append("\\r"); break;
                case '\t': out_.append("\\t"); break;
                default: {
                    static const char hex[] = "0123456789abcdef";
                    const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                    out_.append(u, 6);
                }
            }
        }
        out_.append(s.data() + run, s.size() - run);
        out_.push_back('"');
    }

    static bool needs_escape8(const char* p) noexcept {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
        auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
        const std::uint64_t control = (v - ones * 0x20) & ~v & highs;
        return (control | has_zero(v ^ (ones * '"')) | has_zero(v ^ (ones * '\\'))) != 0;
    }

    std::string& out_;
    bool first_ = true;
};

}  // namespace sluice
