// `sluice loadgen`: realistic seed events on a schedule, with a report of how well it kept it.
#include <atomic>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "commands.hpp"
#include "load/load_producer.hpp"
#include "load/rate_profile.hpp"
#include "seed_events.hpp"

namespace sluice {

namespace {

std::string ms(std::uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f ms", double(ns) / 1e6);
    return buf;
}

}  // namespace

int loadgen_command(const loadgen_options& o) {
    std::map<std::string, std::string> props;
    for (const auto& kv : o.properties) {
        const auto eq = kv.find('=');  // checked by the command line parser
        props[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    rate_profile profile;
    try {
        profile = o.profile.empty() ? rate_profile::parse(o.rate, o.step_duration_s, o.duration_s)
                                    : rate_profile::load(o.profile, o.duration_s);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "sluice loadgen: %s\nRun with --help for more information.\n", e.what());
        return 64;
    }
    // Before the signal thread: a bad property throws here.
    load_producer producer(o.bootstrap, props);
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread signals([&] {
        while (!done.load()) {
            if (wait_for_shutdown_signal(200)) stop.store(true);
        }
    });
    std::fprintf(stderr, "loadgen: profile %s\n", profile.describe().c_str());
    seed_generator gen(o.seed);
    seed_event ev;
    const load_result r = producer.run(
        profile, o.count, stop,
        [&](std::uint64_t, std::int64_t due_wall_ns) {
            gen.next(ev, due_wall_ns);
            return load_message{o.topic.empty() ? ev.topic : std::string_view(o.topic), ev.key, ev.value};
        },
        [](const load_result& p) {
            std::fprintf(stderr, "loadgen: %llu sent, %llu delivered (%.0f/s)\n",
                         static_cast<unsigned long long>(p.sent), static_cast<unsigned long long>(p.delivered),
                         p.seconds > 0 ? double(p.sent) / p.seconds : 0.0);
        });
    done.store(true);
    signals.join();
    const double secs = r.seconds > 0 ? r.seconds : 1e-9;
    std::printf("loadgen: sent %llu events in %.2f s (%.0f events/s); delivered %llu, failed %llu\n",
                static_cast<unsigned long long>(r.sent), r.seconds, double(r.sent) / secs,
                static_cast<unsigned long long>(r.delivered), static_cast<unsigned long long>(r.failed));
    std::printf("loadgen: offered %.0f events/s (%.0f events over %.3f s), achieved %.0f events/s sent, "
                "%.0f events/s delivered (last delivery at %.2f s)\n",
                r.offered / (r.schedule_seconds > 0 ? r.schedule_seconds : 1e-9), r.offered, r.schedule_seconds,
                double(r.sent) / secs,
                double(r.delivered) / (r.drained_seconds > 0 ? r.drained_seconds : 1e-9), r.drained_seconds);
    std::printf("loadgen: schedule started at %.3f (seconds since the epoch)\n", double(r.start_wall_ns) / 1e9);
    std::printf("loadgen: behind schedule: p50 %s, p99 %s, p99.9 %s, max %s\n", ms(r.behind.percentile(50)).c_str(),
                ms(r.behind.percentile(99)).c_str(), ms(r.behind.percentile(99.9)).c_str(), ms(r.behind.max).c_str());
    std::printf("loadgen: delivery latency (send to broker ack): p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
                ms(r.delivery.percentile(50)).c_str(), ms(r.delivery.percentile(90)).c_str(),
                ms(r.delivery.percentile(99)).c_str(), ms(r.delivery.percentile(99.9)).c_str(),
                ms(r.delivery.max).c_str());
    return r.failed == 0 && r.delivered == r.sent ? 0 : 1;
}

}  // namespace sluice
