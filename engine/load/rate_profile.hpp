// Offered load over time for the load generator: constant, steps, a ramp, or points from a file.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sluice {

// A piecewise-linear rate (events/s) over time since the start. Event i is
// due when the integral of the rate reaches i, so a schedule never depends
// on when earlier events were actually sent (open loop).
class rate_profile {
public:
    struct segment {
        double t0, t1;  // seconds since start; t1 may be infinite
        double r0, r1;  // rate at t0 and at t1, linear in between
    };

    // "0" (as fast as possible), "N" (constant), "A,B,C" (steps of
    // step_s seconds each), "A..B" (linear over duration_s). duration_s
    // (0 = none) also ends a constant profile. Throws std::invalid_argument
    // with a message naming what is wrong.
    static rate_profile parse(const std::string& spec, double step_s, double duration_s);
    // Lines "SECONDS RATE" (blank lines and # comments skipped), SECONDS
    // non-decreasing from 0: the rate is linear between points, a repeated
    // SECONDS is a step; the profile ends at the last point (or duration_s
    // if that is sooner).
    static rate_profile load(const std::string& path, double duration_s);

    bool unlimited() const noexcept { return segments_.empty(); }
    double end_s() const noexcept { return end_s_; }  // infinite when open-ended
    // Seconds after the start at which event `index` is due; infinite when
    // the profile has ended before it. Calls must pass non-decreasing
    // indexes (a cursor walks the segments).
    double due_s(std::uint64_t index);
    // Events the profile offers up to t seconds.
    double events_until(double t) const noexcept;
    // The rate at t seconds (0 after the end).
    double rate_at(double t) const noexcept;
    std::string describe() const;

private:
    void add(double t0, double t1, double r0, double r1);
    std::vector<segment> segments_;
    double end_s_ = std::numeric_limits<double>::infinity();
    std::size_t cursor_ = 0;
    double events_before_cursor_ = 0;
};

}  // namespace sluice
