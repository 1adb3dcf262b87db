// `sluice stats`: asks the stats socket and prints a readable table.
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "commands.hpp"
#include "human_units.hpp"

namespace sluice {

namespace {

class stats_client {
public:
    explicit stats_client(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
            const int e = errno;
            ::close(fd_);
            throw std::system_error(e, std::generic_category(), "cannot connect to stats socket " + path + " (is sluice running?)");
        }
    }
    ~stats_client() { ::close(fd_); }

    // Sends one command and reads its answer up to the terminating blank line.
    std::string ask(const std::string& command) {
        const std::string line = command + "\n";
        if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
            throw std::runtime_error("stats socket: send failed");
        for (;;) {
            const auto end = buffer_.find("\n\n");
            if (end != std::string::npos) {
                std::string answer = buffer_.substr(0, end);
                buffer_.erase(0, end + 2);
                return answer;
            }
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("stats socket closed the connection");
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    std::string buffer_;
};

std::uint64_t u(simdjson::dom::element e, const char* key) {
    std::uint64_t v = 0;
    if (e[key].get(v)) {
        std::int64_t s = 0;
        if (!e[key].get(s)) return static_cast<std::uint64_t>(s < 0 ? 0 : s);
    }
    return v;
}
std::uint64_t u(simdjson::simdjson_result<simdjson::dom::element> e, const char* key) {
    simdjson::dom::element el;
    return e.get(el) ? 0 : u(el, key);
}

void print_table(const std::string& json, double rate) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json).get(doc)) throw std::runtime_error("stats socket answered something that is not JSON");
    double uptime = 0;
    if (doc["uptime_s"].get(uptime)) uptime = 0;
    auto src = doc["source"];
    std::printf("sluice  uptime %.1fs\n", uptime);
    std::printf("consumed %llu", static_cast<unsigned long long>(u(src, "consumed")));
    if (rate >= 0) std::printf(" (%.0f events/s)", rate);
    else if (uptime > 0) std::printf(" (%.0f events/s average)", double(u(src, "consumed")) / uptime);
    std::printf("  decoded %llu  dead-lettered %llu  pauses %llu  rebalances %llu\n",
                static_cast<unsigned long long>(u(src, "decoded")),
                static_cast<unsigned long long>(u(src, "dead_lettered")),
                static_cast<unsigned long long>(u(src, "pauses")),
                static_cast<unsigned long long>(u(src, "rebalances")));
    auto totals = doc["totals"];
    std::printf("lag %llu  replay exposure %llu events  commits %llu (failed %llu)\n\n",
                static_cast<unsigned long long>(u(totals, "lag")),
                static_cast<unsigned long long>(u(totals, "replay_exposure")),
                static_cast<unsigned long long>(u(doc["commit"], "commits")),
                static_cast<unsigned long long>(u(doc["commit"], "failures")));
    std::printf("%-26s %10s %10s %10s %10s %10s\n", "stage", "count", "p50", "p99", "p99.9", "max");
    simdjson::dom::object lat;
    if (!doc["latency_ns"].get(lat)) {
        for (auto [name, h] : lat)
            std::printf("%-26.*s %10llu %10s %10s %10s %10s\n", static_cast<int>(name.size()), name.data(),
                        static_cast<unsigned long long>(u(h, "count")), human_ns(u(h, "p50")).c_str(),
                        human_ns(u(h, "p99")).c_str(), human_ns(u(h, "p999")).c_str(), human_ns(u(h, "max")).c_str());
    }
    std::string_view placement = "threads";
    (void)doc["sink_placement"].get(placement);
    std::printf("\n%-14s %11s %8s %8s %8s %8s %8s %6s   (sinks: %.*s)\n", "sink", "processed", "failed", "retried",
                "dlq", "dedup", "partial", "ring", static_cast<int>(placement.size()), placement.data());
    simdjson::dom::object sinks;
    if (!doc["sinks"].get(sinks)) {
        for (auto [name, s] : sinks) {
            std::uint64_t depth = 0;
            // Inline sinks have no ring.
            const std::string ring = s["ring_depth"].get(depth) ? std::string("-") : std::to_string(depth);
            std::printf("%-14.*s %11llu %8llu %8llu %8llu %8llu %8llu %6s\n", static_cast<int>(name.size()), name.data(),
                        static_cast<unsigned long long>(u(s, "processed")), static_cast<unsigned long long>(u(s, "failed")),
                        static_cast<unsigned long long>(u(s, "retried")),
                        static_cast<unsigned long long>(u(s, "dead_lettered")),
                        static_cast<unsigned long long>(u(s, "deduplicated")),
                        static_cast<unsigned long long>(u(s, "partial")), ring.c_str());
        }
    }
    std::printf("\n%-28s %10s %12s %12s %8s %9s\n", "partition", "consumed", "committed", "end", "lag", "exposure");
    simdjson::dom::array parts;
    if (!doc["partitions"].get(parts)) {
        for (auto p : parts) {
            bool assigned = false;
            if (p["assigned"].get(assigned)) assigned = false;
            if (!assigned) continue;
            std::string_view topic;
            if (p["topic"].get(topic)) topic = "?";
            std::int64_t part = 0, committed = 0, hw = 0, lag = 0;
            if (p["partition"].get(part)) part = -1;
            if (p["committed_offset"].get(committed)) committed = -1;
            if (p["high_watermark"].get(hw)) hw = -1;
            if (p["lag"].get(lag)) lag = -1;
            const std::string label = std::string(topic) + "[" + std::to_string(part) + "]";
            std::printf("%-28s %10llu %12lld %12lld %8lld %9llu\n", label.c_str(),
                        static_cast<unsigned long long>(u(p, "consumed")), static_cast<long long>(committed),
                        static_cast<long long>(hw), static_cast<long long>(lag),
                        static_cast<unsigned long long>(u(p["replay_exposure"], "events")));
        }
    }
}

// HdrHistogram's log format (1.3): header lines, then
// "Tag=NAME,START,LENGTH,MAX,HISTOGRAM" per stage and interval, START in
// seconds since BaseTime, MAX in ms (the tools' default unit ratio 1e6 from ns).
int write_hdr_log(stats_client& client, const std::string& path, double interval_s) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::system_error(errno, std::generic_category(), "cannot write " + path);
    double base = -1;
    std::size_t intervals = 0;
    // After Ctrl-C, one last interval: nothing recorded is left out.
    for (bool last = false;;) {
        const std::string answer = client.ask("interval");
        std::size_t pos = 0;
        while (pos < answer.size()) {
            std::size_t end = answer.find('\n', pos);
            if (end == std::string::npos) end = answer.size();
            const std::string line = answer.substr(pos, end - pos);
            pos = end + 1;
            std::istringstream fields(line);
            std::string name, hist;
            double start = 0, stop = 0;
            unsigned long long max_ns = 0;
            if (!(fields >> name >> start >> stop >> max_ns >> hist))
                throw std::runtime_error("stats socket: unexpected interval answer: " + line.substr(0, 80));
            if (base < 0) {
                base = start;
                const std::time_t t = static_cast<std::time_t>(base);
                char when[64];
                std::strftime(when, sizeof when, "%a %b %d %H:%M:%S UTC %Y", std::gmtime(&t));
                std::fprintf(f, "#[Logged with sluice stats --hdr-log, values in ns]\n");
                std::fprintf(f, "#[Histogram log format version 1.3]\n");
                std::fprintf(f, "#[StartTime: %.3f (seconds since epoch), %s]\n", base, when);
                std::fprintf(f, "#[BaseTime: %.3f (seconds since epoch)]\n", base);
                std::fprintf(f, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n");
            }
            std::fprintf(f, "Tag=%s,%.3f,%.3f,%.3f,%s\n", name.c_str(), start - base, stop - start, double(max_ns) / 1e6,
                         hist.c_str());
        }
        std::fflush(f);
        ++intervals;
        if (last) break;
        last = wait_for_shutdown_signal(static_cast<int>(interval_s * 1000));
    }
    std::fclose(f);
    std::fprintf(stderr, "sluice stats: %zu intervals written to %s\n", intervals, path.c_str());
    return 0;
}

}  // namespace

int stats_command(const stats_options& o) {
    auto client = std::make_unique<stats_client>(o.socket);
    if (!o.hdr_log.empty()) return write_hdr_log(*client, o.hdr_log, o.interval_s);
    if (!o.raw.empty()) {
        std::printf("%s\n", client->ask(o.raw).c_str());
        return 0;
    }
    if (!o.watch) {
        print_table(client->ask("stats"), -1);
        return 0;
    }
    std::uint64_t last = 0;
    bool first = true;
    for (;;) {
        std::string json;
        try {
            json = client->ask("stats");
        } catch (const std::exception& e) {
            // The process went away (a restart, a stop): say so and wait for
            // one to serve the socket again, instead of exiting.
            std::printf("\nsluice stats: lost %s (%s); reconnecting every %gs, Ctrl-C to stop\n", o.socket.c_str(),
                        e.what(), o.interval_s);
            std::fflush(stdout);
            client.reset();
            while (!client) {
                if (wait_for_shutdown_signal(static_cast<int>(o.interval_s * 1000))) return 0;
                try {
                    client = std::make_unique<stats_client>(o.socket);
                } catch (const std::exception&) {
                }
            }
            std::printf("sluice stats: reconnected to %s\n", o.socket.c_str());
            std::fflush(stdout);
            first = true;  // a new process: its counters started again
            continue;
        }
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        std::uint64_t consumed = 0;
        if (!parser.parse(json).get(doc)) consumed = u(doc["source"], "consumed");
        if (isatty(STDOUT_FILENO)) std::printf("\033[H\033[2J");
        print_table(json, first ? -1 : double(consumed - last) / o.interval_s);
        std::fflush(stdout);
        last = consumed;
        first = false;
        if (wait_for_shutdown_signal(static_cast<int>(o.interval_s * 1000))) return 0;
    }
}

}  // namespace sluice
