// Calendar arithmetic for timestamp parsing (Howard Hinnant's days_from_civil).
#include "base/timestamp.hpp"

#include <cstdio>
#include <limits>

namespace sluice {
namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
    if (pos + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    out = v;
    return true;
}

bool leap(unsigned y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<std::int64_t> parse_iso8601_ns(std::string_view s) noexcept {
    unsigned year, month, day, hour, minute, second;
    if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
        s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
        !digits(s, 17, 2, second))
        return std::nullopt;
    static constexpr unsigned days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1) return std::nullopt;
    const unsigned mdays = days_in[month - 1] + (month == 2 && leap(year) ? 1 : 0);
    if (day > mdays || hour > 23 || minute > 59 || second > 60) return std::nullopt;

    std::size_t pos = 19;
    std::int64_t frac_ns = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t n = 0;
        std::int64_t scale = 100'000'000;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 9) frac_ns += (s[pos] - '0') * scale;
            scale /= 10;
            ++pos;
            ++n;
        }
        if (n == 0 || n > 9) return std::nullopt;
    }
    std::int64_t offset_s = 0;
    if (pos < s.size()) {
        const char z = s[pos];
        if ((z == 'Z' || z == 'z') && pos + 1 == s.size()) {
            ++pos;
        } else if (z == '+' || z == '-') {
            unsigned oh, om;
            if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
            std::size_t mpos = pos + 3;
            if (mpos < s.size() && s[mpos] == ':') ++mpos;
            if (!digits(s, mpos, 2, om) || mpos + 2 != s.size() || oh > 23 || om > 59)
                return std::nullopt;
            offset_s = (static_cast<std::int64_t>(oh) * 3600 + om * 60) * (z == '+' ? 1 : -1);
            pos = s.size();
        } else {
            return std::nullopt;
        }
    }
    if (pos != s.size()) return std::nullopt;
    const std::int64_t days = days_from_civil(year, month, day);
    const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    // Nanoseconds since the epoch fit an int64 from 1677 to 2262 only.
    constexpr std::int64_t max_secs = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
    if (secs > max_secs || secs < -max_secs) return std::nullopt;
    return secs * 1'000'000'000 + frac_ns;
}

std::size_t format_iso8601_ms(std::int64_t ns, char* out) noexcept {
    std::int64_t secs = ns / 1'000'000'000;
    std::int64_t rem = ns % 1'000'000'000;
    if (rem < 0) { rem += 1'000'000'000; --secs; }
    std::int64_t days = secs / 86400;
    std::int64_t sod = secs % 86400;
    if (sod < 0) { sod += 86400; --days; }
    // civil_from_days
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
    // Hand-formatted: this runs once per output record, snprintf would dominate.
    auto put = [&](std::size_t pos, std::uint64_t v, int width) {
        for (int i = width - 1; i >= 0; --i) {
            out[pos + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    if (y < 0 || y > 9999) {
        const int n = std::snprintf(out, 32, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                                    static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                                    static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                                    static_cast<long long>(rem / 1'000'000));
        return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    put(0, static_cast<std::uint64_t>(y), 4);
    out[4] = '-';
    put(5, m, 2);
    out[7] = '-';
    put(8, d, 2);
    out[10] = 'T';
    put(11, static_cast<std::uint64_t>(sod / 3600), 2);
    out[13] = ':';
    put(14, static_cast<std::uint64_t>(sod / 60 % 60), 2);
    out[16] = ':';
    put(17, static_cast<std::uint64_t>(sod % 60), 2);
    out[19] = '.';
    put(20, static_cast<std::uint64_t>(rem / 1'000'000), 3);
    out[23] = 'Z';
    return 24;
}

}  // namespace sluice
