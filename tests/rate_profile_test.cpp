// rate_profile: parsing and each event's due time for constant, steps, ramp and file profiles.
#include "load/rate_profile.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

using sluice::rate_profile;

TEST(RateProfile, ConstantRateIsEvenlySpaced) {
    rate_profile p = rate_profile::parse("1000", 0, 2);
    EXPECT_DOUBLE_EQ(p.due_s(0), 0.0);
    EXPECT_DOUBLE_EQ(p.due_s(1), 0.001);
    EXPECT_DOUBLE_EQ(p.due_s(1999), 1.999);
    EXPECT_TRUE(std::isinf(p.due_s(2000)));  // the duration is over
    EXPECT_DOUBLE_EQ(p.events_until(2), 2000);
}

TEST(RateProfile, ZeroIsUnlimited) {
    EXPECT_TRUE(rate_profile::parse("0", 0, 0).unlimited());
    EXPECT_TRUE(std::isinf(rate_profile::parse("500", 0, 0).end_s()));
}

TEST(RateProfile, StepsHoldEachRateForTheStepDuration) {
    rate_profile p = rate_profile::parse("100,1000,10", 2, 0);
    EXPECT_DOUBLE_EQ(p.end_s(), 6);
    EXPECT_DOUBLE_EQ(p.events_until(6), 200 + 2000 + 20);
    EXPECT_NEAR(p.due_s(199), 1.99, 1e-9);   // last of the first step
    EXPECT_NEAR(p.due_s(200), 2.0, 1e-9);    // first of the second
    EXPECT_NEAR(p.due_s(201), 2.001, 1e-9);
    EXPECT_NEAR(p.due_s(2200), 4.0, 1e-9);
    EXPECT_NEAR(p.due_s(2219), 5.9, 1e-9);
    EXPECT_TRUE(std::isinf(p.due_s(2220)));
    EXPECT_DOUBLE_EQ(p.rate_at(3), 1000);
}

TEST(RateProfile, RampIntegratesTheRate) {
    rate_profile p = rate_profile::parse("0..1000", 0, 10);  // 5000 events
    EXPECT_DOUBLE_EQ(p.events_until(10), 5000);
    // N(t) = 50 t^2: event n is due at sqrt(n / 50).
    for (std::uint64_t n : {1ull, 50ull, 1250ull, 4999ull}) EXPECT_NEAR(p.due_s(n), std::sqrt(double(n) / 50), 1e-9) << n;
    EXPECT_TRUE(std::isinf(p.due_s(5000)));
    rate_profile down = rate_profile::parse("1000..0", 0, 10);
    // N(t) = 1000 t - 50 t^2.
    EXPECT_NEAR(down.due_s(3750), 5.0, 1e-9);
    EXPECT_DOUBLE_EQ(rate_profile::parse("1000..5000", 0, 4).rate_at(2), 3000);
}

TEST(RateProfile, FilePointsAreLinearAndRepeatedSecondsStep) {
    const std::string path = ::testing::TempDir() + "/profile.txt";
    std::ofstream(path) << "# seconds rate\n0 100\n1 100\n\n1 1000  # step up\n2 0\n";
    rate_profile p = rate_profile::load(path, 0);
    EXPECT_DOUBLE_EQ(p.end_s(), 2);
    EXPECT_DOUBLE_EQ(p.events_until(1), 100);
    EXPECT_DOUBLE_EQ(p.events_until(2), 600);
    EXPECT_NEAR(p.due_s(100), 1.0, 1e-9);
    EXPECT_DOUBLE_EQ(p.rate_at(1.5), 500);
    std::remove(path.c_str());
}

TEST(RateProfile, BadSpecsNameWhatIsWrong) {
    auto message = [](auto f) {
        try {
            f();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message([] { rate_profile::parse("fast", 0, 0); }), "--rate: expected a non-negative number, got 'fast'");
    EXPECT_EQ(message([] { rate_profile::parse("-5", 0, 0); }), "--rate: expected a non-negative number, got '-5'");
    EXPECT_EQ(message([] { rate_profile::parse("1,2", 0, 0); }), "--rate A,B,C: steps need --step-duration");
    EXPECT_EQ(message([] { rate_profile::parse("1,x", 1, 0); }), "--rate A,B,C: expected a non-negative number, got 'x'");
    EXPECT_EQ(message([] { rate_profile::parse("1..9", 0, 0); }), "--rate A..B: a ramp needs --duration");
    const std::string path = ::testing::TempDir() + "/bad_profile.txt";
    std::ofstream(path) << "0 10\n5 20\n3 30\n";
    EXPECT_EQ(message([&] { rate_profile::load(path, 0); }), "--profile " + path + ":3: seconds go backwards");
    std::ofstream(path) << "1 10\n";
    EXPECT_EQ(message([&] { rate_profile::load(path, 0); }), "--profile " + path + ":1: the first point must be at 0 seconds");
    std::ofstream(path) << "0 10 3\n";
    EXPECT_EQ(message([&] { rate_profile::load(path, 0); }), "--profile " + path + ":1: expected 'SECONDS RATE'");
    std::remove(path.c_str());
    EXPECT_EQ(message([] { rate_profile::load("/nonexistent/p", 0); }), "--profile: cannot open /nonexistent/p");
}
