// `sluice broker`: the embedded broker on its own, for external clients such as kcat.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "commands.hpp"
#include "config.hpp"
#include "embedded_broker.hpp"

namespace sluice {

int broker_command(const broker_options& o) {
    std::map<std::string, int> topics;
    if (o.defaults) {
        const settings defaults = load_settings("", {});
        topics = defaults.broker_topics();
        // Dead letters of `sluice run --source replay:FILE` against this broker,
        // which checks at start that they have a topic.
        topics["replay" + defaults.dlq_suffix] = 1;
    }
    std::size_t pos = 0;
    while (pos < o.topics.size()) {
        std::size_t end = o.topics.find(',', pos);
        if (end == std::string::npos) end = o.topics.size();
        const std::string item = o.topics.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        const auto colon = item.rfind(':');
        int parts = 0;
        try {
            parts = colon == std::string::npos ? 0 : std::stoi(item.substr(colon + 1));
        } catch (...) {
        }
        if (colon == 0 || parts < 1 || parts > 10000)
            throw std::invalid_argument("--topics: expected name:partitions (1..10000), got '" + item + "'");
        topics[item.substr(0, colon)] = parts;
    }
    embedded_broker broker(o.brokers, topics);
    std::printf("bootstrap=%s\n", broker.bootstraps().c_str());
    std::fflush(stdout);
    for (const auto& [name, parts] : topics) std::fprintf(stderr, "topic %s partitions=%d\n", name.c_str(), parts);
    std::fprintf(stderr, "embedded broker ready (%d broker%s); Ctrl-C to stop\n", o.brokers, o.brokers == 1 ? "" : "s");
    while (!wait_for_shutdown_signal(1000)) {
    }
    return 0;
}

}  // namespace sluice
