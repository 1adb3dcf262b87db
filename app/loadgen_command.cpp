// `sluice loadgen`: realistic seed events at a constant, open-loop rate.
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "commands.hpp"
#include "load_producer.hpp"
#include "seed_events.hpp"

namespace sluice {

int loadgen_command(const loadgen_options& o) {
    std::map<std::string, std::string> props;
    for (const auto& kv : o.properties) {
        const auto eq = kv.find('=');  // checked by the command line parser
        props[kv.substr(0, eq)] = kv.substr(eq + 1);
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
    seed_generator gen(o.seed);
    seed_event ev;
    const load_result r = producer.run(
        o.rate, o.count, o.duration_s, stop,
        [&](std::uint64_t, std::int64_t now) {
            gen.next(ev, now);
            return load_message{o.topic.empty() ? ev.topic : std::string_view(o.topic), ev.key, ev.value};
        },
        [](const load_result& p) {
            std::fprintf(stderr, "loadgen: %llu sent, %llu delivered (%.0f/s)\n",
                         static_cast<unsigned long long>(p.sent), static_cast<unsigned long long>(p.delivered),
                         p.seconds > 0 ? double(p.sent) / p.seconds : 0.0);
        });
    done.store(true);
    signals.join();
    std::printf("loadgen: sent %llu events in %.2f s (%.0f events/s); delivered %llu, failed %llu\n",
                static_cast<unsigned long long>(r.sent), r.seconds, r.seconds > 0 ? double(r.sent) / r.seconds : 0.0,
                static_cast<unsigned long long>(r.delivered), static_cast<unsigned long long>(r.failed));
    return r.failed == 0 && r.delivered == r.sent ? 0 : 1;
}

}  // namespace sluice
