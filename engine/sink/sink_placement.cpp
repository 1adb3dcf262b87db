// CPU affinity and cgroup v2 quota, read once at start-up.
#include "sink/sink_placement.hpp"

#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace sluice {

std::optional<std::size_t> cpu_max_cpus(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    const auto space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const std::string_view quota = text.substr(0, space), period = text.substr(space + 1);
    if (quota == "max") return std::nullopt;
    std::uint64_t q = 0, p = 0;
    if (std::from_chars(quota.data(), quota.data() + quota.size(), q).ptr != quota.data() + quota.size() ||
        std::from_chars(period.data(), period.data() + period.size(), p).ptr != period.data() + period.size() ||
        q == 0 || p == 0)
        return std::nullopt;
    // Rounded down: 4.5 CPUs of quota do not give 5 roles a core each.
    return std::max<std::size_t>(static_cast<std::size_t>(q / p), 1);
}

namespace {

// The cgroup v2 path of this process ("0::/system.slice/x.service"); empty
// on cgroup v1 or without /proc.
std::string own_cgroup() {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return {};
}

}  // namespace

std::size_t usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    // A mask that does not fit cpu_set_t (over 1024 CPUs) counts the online ones.
    std::size_t cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? static_cast<std::size_t>(CPU_COUNT(&set))
                                                                   : static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    // The quota of every level up to the root limits this process.
    std::string path = own_cgroup();
    while (!path.empty()) {
        std::ifstream in("/sys/fs/cgroup" + path + "/cpu.max");
        std::stringstream text;
        text << in.rdbuf();
        if (const auto quota = cpu_max_cpus(text.str())) cpus = std::min(cpus, *quota);
        if (path == "/") break;
        const auto slash = path.rfind('/');
        if (slash == std::string::npos) break;
        path = slash == 0 ? "/" : path.substr(0, slash);
    }
    return std::max<std::size_t>(cpus, 1);
}

sink_placement resolve_sink_placement(sink_placement p, std::size_t cpus, std::size_t roles) noexcept {
    if (p != sink_placement::automatic) return p;
    return cpus < roles ? sink_placement::inline_ : sink_placement::threads;
}

}  // namespace sluice
