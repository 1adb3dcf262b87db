// The loadgen thread of `sluice run`: seed events at loadgen.rate until stopped or loadgen.count.
#include "builtin_load.hpp"

#include <pthread.h>

#include "base/log.hpp"
#include "load/load_producer.hpp"
#include "seed_events.hpp"

namespace sluice {

builtin_load::builtin_load(const std::string& bootstrap, const settings& cfg)
    : bootstrap_(bootstrap), cfg_(cfg), thread_([this] { produce(); }) {}

builtin_load::~builtin_load() {
    stop_.store(true);
    thread_.join();
}

void builtin_load::produce() {
    pthread_setname_np(pthread_self(), "loadgen");
    try {
        load_producer producer(bootstrap_, cfg_.producer_properties);
        seed_generator gen(1);
        seed_event ev;
        producer.run(cfg_.loadgen_rate, cfg_.loadgen_count, 0, stop_, [&](std::uint64_t, std::int64_t now) {
            gen.next(ev, now);
            return load_message{ev.topic, ev.key, ev.value};
        });
    } catch (const std::exception& e) {
        logf(log_level::error, "loadgen", "load generator: %s", e.what());
    }
}

}  // namespace sluice
