// Rate profiles: parsing and the due time of each event.
#include "load/rate_profile.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sluice {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

double number(std::string_view s, const char* what) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0)
        throw std::invalid_argument(std::string(what) + ": expected a non-negative number, got '" + std::string(s) + "'");
    return v;
}

// Events in [t0, t0 + x] of a segment.
double integral(const rate_profile::segment& s, double x) noexcept {
    if (x <= 0) return 0;
    if (!std::isfinite(s.t1)) return s.r0 * x;
    const double slope = (s.r1 - s.r0) / (s.t1 - s.t0);
    return s.r0 * x + slope * x * x / 2;
}

}  // namespace

void rate_profile::add(double t0, double t1, double r0, double r1) {
    if (t1 > t0) segments_.push_back({t0, t1, r0, r1});
}

rate_profile rate_profile::parse(const std::string& spec, double step_s, double duration_s) {
    rate_profile p;
    const auto dots = spec.find("..");
    if (dots != std::string::npos) {
        const double a = number(std::string_view(spec).substr(0, dots), "--rate A..B");
        const double b = number(std::string_view(spec).substr(dots + 2), "--rate A..B");
        if (duration_s <= 0) throw std::invalid_argument("--rate A..B: a ramp needs --duration");
        if (a == 0 && b == 0) throw std::invalid_argument("--rate A..B: both ends are 0");
        p.add(0, duration_s, a, b);
        p.end_s_ = duration_s;
        return p;
    }
    if (spec.find(',') != std::string::npos) {
        if (step_s <= 0) throw std::invalid_argument("--rate A,B,C: steps need --step-duration");
        std::string_view rest = spec;
        double t = 0;
        while (true) {
            const auto comma = rest.find(',');
            const double r = number(rest.substr(0, comma), "--rate A,B,C");
            if (r == 0) throw std::invalid_argument("--rate A,B,C: a step of rate 0");
            p.add(t, t + step_s, r, r);
            t += step_s;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
        p.end_s_ = duration_s > 0 ? std::min(duration_s, t) : t;
        return p;
    }
    const double r = number(spec, "--rate");
    if (r > 0) p.add(0, inf, r, r);
    if (duration_s > 0) p.end_s_ = duration_s;
    return p;
}

rate_profile rate_profile::load(const std::string& path, double duration_s) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("--profile: cannot open " + path);
    rate_profile p;
    std::string line;
    int line_no = 0;
    double last_t = -1, last_r = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        for (char& c : line)
            if (c == '\t' || c == '\r' || c == ',') c = ' ';
        std::istringstream fields(line);
        std::string ts, rs, extra;
        if (!(fields >> ts)) continue;
        const std::string where = "--profile " + path + ":" + std::to_string(line_no);
        if (!(fields >> rs) || (fields >> extra))
            throw std::invalid_argument(where + ": expected 'SECONDS RATE'");
        const double t = number(ts, where.c_str()), r = number(rs, where.c_str());
        if (last_t < 0 && t != 0) throw std::invalid_argument(where + ": the first point must be at 0 seconds");
        if (t < last_t) throw std::invalid_argument(where + ": seconds go backwards");
        if (last_t >= 0) p.add(last_t, t, last_r, r);
        last_t = t;
        last_r = r;
    }
    if (last_t <= 0) throw std::invalid_argument("--profile " + path + ": needs at least two points, the last after 0 seconds");
    p.end_s_ = duration_s > 0 ? std::min(duration_s, last_t) : last_t;
    return p;
}

double rate_profile::due_s(std::uint64_t index) {
    const double target = double(index);
    while (cursor_ < segments_.size()) {
        const segment& s = segments_[cursor_];
        const double dt = s.t1 - s.t0;
        const double in_segment = integral(s, dt);
        if (events_before_cursor_ + in_segment > target || !std::isfinite(dt)) {
            const double c = target - events_before_cursor_;
            double x;
            if (c <= 0) {
                x = 0;
            } else if (!std::isfinite(dt) || s.r1 == s.r0) {
                x = c / s.r0;
            } else {
                // a x^2 + b x = c, in the form that stays accurate when a -> 0.
                const double a = (s.r1 - s.r0) / dt / 2, b = s.r0;
                x = 2 * c / (b + std::sqrt(std::max(0.0, b * b + 4 * a * c)));
            }
            const double t = s.t0 + std::min(std::max(x, 0.0), dt);
            return t < end_s_ ? t : inf;
        }
        events_before_cursor_ += in_segment;
        ++cursor_;
    }
    return inf;
}

double rate_profile::events_until(double t) const noexcept {
    double n = 0;
    t = std::min(t, end_s_);
    for (const segment& s : segments_) {
        if (t <= s.t0) break;
        n += integral(s, std::min(t, s.t1) - s.t0);
    }
    return n;
}

double rate_profile::rate_at(double t) const noexcept {
    if (t >= end_s_) return 0;
    for (const segment& s : segments_)
        if (t >= s.t0 && t < s.t1) return std::isfinite(s.t1) ? s.r0 + (s.r1 - s.r0) * (t - s.t0) / (s.t1 - s.t0) : s.r0;
    return 0;
}

std::string rate_profile::describe() const {
    if (segments_.empty()) return "as fast as possible";
    char buf[96];
    std::string out;
    for (const segment& s : segments_) {
        if (s.t0 >= end_s_) break;
        const double t1 = std::min(s.t1, end_s_);
        const double r1 = std::isfinite(s.t1) ? s.r0 + (s.r1 - s.r0) * (t1 - s.t0) / (s.t1 - s.t0) : s.r0;
        if (std::isfinite(t1) && r1 != s.r0)
            std::snprintf(buf, sizeof buf, "%s%.0f..%.0f/s over %gs", out.empty() ? "" : ", ", s.r0, r1, t1 - s.t0);
        else if (std::isfinite(t1))
            std::snprintf(buf, sizeof buf, "%s%.0f/s for %gs", out.empty() ? "" : ", ", s.r0, t1 - s.t0);
        else
            std::snprintf(buf, sizeof buf, "%s%.0f/s", out.empty() ? "" : ", ", s.r0);
        out += buf;
    }
    return out;
}

}  // namespace sluice
