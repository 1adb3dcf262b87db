// `sluice doctor`: what this host offers the configured thread plan, and what to change.
#include <liburing.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "seed_config.hpp"
#include "sink/sink_placement.hpp"

namespace sluice {

namespace {

struct finding {
    std::string check;
    std::string status;  // ok, warning, info (not applicable here)
    std::string value;   // what was read, as the test reads it too
    std::string advice;
};

std::string read_trimmed(const std::string& path, bool* ok = nullptr) {
    std::ifstream in(path);
    if (ok) *ok = static_cast<bool>(in);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// "0-3,8" -> {0,1,2,3,8}
std::set<int> cpu_list(const std::string& text) {
    std::set<int> cpus;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ',');) {
        if (part.empty()) continue;
        const auto dash = part.find('-');
        const int a = std::stoi(part.substr(0, dash));
        const int b = dash == std::string::npos ? a : std::stoi(part.substr(dash + 1));
        for (int c = a; c <= b; ++c) cpus.insert(c);
    }
    return cpus;
}

// The word in brackets: "always [madvise] never" -> "madvise".
std::string selected(const std::string& s) {
    const auto a = s.find('['), b = s.find(']');
    return a == std::string::npos || b == std::string::npos ? s : s.substr(a + 1, b - a - 1);
}

bool spins(const thread_settings& t) { return t.wait != wait_kind::park; }

std::vector<finding> examine(const settings& cfg) {
    std::vector<finding> f;
    const std::string sys = "/sys/devices/system/cpu/";
    const std::set<int> online = cpu_list(read_trimmed(sys + "online"));
    const std::size_t usable = usable_cpus();
    const std::size_t event_role_count = event_roles(cfg.sink_names().size());
    const bool sinks_inline =
        resolve_sink_placement(cfg.sinks, usable, event_role_count) == sink_placement::inline_;
    // Inline sinks have no threads: their roles need no core.
    const std::size_t roles = cfg.roles().size() - (sinks_inline ? cfg.sink_names().size() : 0);
    std::vector<std::string> spinning;
    std::set<int> pinned_cpus;
    std::vector<std::string> pinned;
    for (const auto& [role, t] : cfg.threads) {
        if (sinks_inline && cfg.is_sink(role)) continue;
        if (spins(t)) spinning.push_back(role);
        if (!t.cpus.empty()) pinned.push_back(role);
        for (int c : t.cpus) pinned_cpus.insert(c);
    }

    {
        finding x{"cpus", "ok", std::to_string(online.size()), ""};
        if (spinning.size() >= online.size()) {
            x.status = "warning";
            x.advice = std::to_string(spinning.size()) + " roles spin on " + std::to_string(online.size()) +
                       " online CPUs: a spinning role needs a core of its own; set threads.ROLE.wait = \"park\"";
        } else if (online.size() < roles) {
            x.status = "warning";
            x.advice = std::to_string(roles) + " role threads share " + std::to_string(online.size()) +
                       " CPUs: keep every role on park (the default), or use more cores per instance";
        }
        f.push_back(x);
    }
    {
        const std::string why = std::to_string(usable) + " usable CPUs for " + std::to_string(event_role_count) + " roles";
        finding x{"sinks", "ok", std::string(sinks_inline ? "inline" : "threads") +
                                     (cfg.sinks == sink_placement::automatic ? " (auto: " + why + ")" : ""), ""};
        if (!sinks_inline && usable < event_role_count) {
            x.status = "warning";
            x.advice = why + ": sink threads wait for a free core after each hand-off (queue_wait); "
                       "pipeline.sinks = \"auto\" or \"inline\" runs them on the source thread";
        } else if (sinks_inline && usable >= event_role_count) {
            x.status = "info";
            x.advice = why + ": pipeline.sinks = \"threads\" gives each sink a core of its own, for more events/s";
        }
        f.push_back(x);
    }
    {
        std::string v;
        for (const auto& r : pinned) v += (v.empty() ? "" : ",") + r;
        finding x{"pinning", "ok", v.empty() ? "none" : v, ""};
        std::map<int, std::vector<std::string>> by_cpu;
        for (const std::string& role : spinning)
            for (int c : cfg.threads.at(role).cpus) by_cpu[c].push_back(role);
        for (const auto& [cpu, rs] : by_cpu)
            if (rs.size() > 1) {
                x.status = "warning";
                x.advice = "spinning roles share CPU " + std::to_string(cpu) + ": give each its own";
            }
        for (const auto& role : spinning)
            if (cfg.threads.at(role).cpus.empty()) {
                x.status = "warning";
                x.advice = "role " + role + " spins but is not pinned: pin it with threads." + role + ".cpus";
            }
        if (pinned.empty() && spinning.empty()) x.advice = "no role pinned: fine while every role parks";
        f.push_back(x);
    }
    {
        const std::string iso = read_trimmed(sys + "isolated");
        finding x{"isolated_cores", "ok", iso.empty() ? "none" : iso, ""};
        if (!spinning.empty() && iso.empty()) {
            x.status = "warning";
            x.advice = "spinning roles without isolated cores share them with the kernel and other processes: boot with isolcpus=/nohz_full= for their CPUs";
        } else if (iso.empty()) {
            x.status = "info";
            x.advice = "no isolated cores; needed only for spinning roles";
        }
        f.push_back(x);
    }
    {
        std::set<std::string> govs;
        for (int c : online) {
            bool ok = false;
            const std::string g = read_trimmed(sys + "cpu" + std::to_string(c) + "/cpufreq/scaling_governor", &ok);
            if (ok) govs.insert(g);
        }
        std::string v;
        for (const auto& g : govs) v += (v.empty() ? "" : ",") + g;
        finding x{"cpu_governor", "ok", v.empty() ? "unavailable" : v, ""};
        if (govs.empty()) {
            x.status = "info";
            x.advice = "no cpufreq in /sys (a virtual machine, or frequency fixed by firmware)";
        } else if (govs.size() > 1 || *govs.begin() != "performance") {
            x.status = "warning";
            x.advice = "set the performance governor (cpupower frequency-set -g performance): frequency changes add latency";
        }
        f.push_back(x);
    }
    {
        bool ok = false;
        const std::string smt = read_trimmed(sys + "smt/active", &ok);
        finding x{"smt", "ok", ok ? smt : "unavailable", ""};
        if (ok && smt == "1") {
            for (int c : pinned_cpus) {
                const std::set<int> sib =
                    cpu_list(read_trimmed(sys + "cpu" + std::to_string(c) + "/topology/thread_siblings_list"));
                for (int s : sib)
                    if (s != c && pinned_cpus.count(s)) {
                        x.status = "warning";
                        x.advice = "pinned CPUs " + std::to_string(c) + " and " + std::to_string(s) +
                                   " are SMT siblings of one core: pin roles to one thread per core";
                    }
            }
            if (x.status == "ok") x.advice = "SMT is on: pin spinning roles to one thread per core";
        }
        f.push_back(x);
    }
    {
        // NIC interrupts: from /proc/interrupts, by the interface's or its device's name.
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator("/sys/class/net")) {
            std::error_code ec;
            const auto dev = std::filesystem::read_symlink(e.path() / "device", ec);
            if (ec) continue;  // lo, bridges, tunnels
            names.push_back(e.path().filename().string());
            names.push_back(dev.filename().string());
        }
        std::ifstream in("/proc/interrupts");
        std::string header;
        std::getline(in, header);
        std::string v;
        std::set<int> irq_cpus;
        for (std::string line; std::getline(in, line);) {
            bool nic = false;
            for (const auto& n : names) nic = nic || line.find(" " + n) != std::string::npos || line.find(n + "-") != std::string::npos;
            if (!nic) continue;
            const std::string irq = line.substr(line.find_first_not_of(' '), line.find(':') - line.find_first_not_of(' '));
            const std::string aff = read_trimmed("/proc/irq/" + irq + "/smp_affinity_list");
            v += (v.empty() ? "" : " ") + irq + ":" + aff;
            for (int c : cpu_list(aff)) irq_cpus.insert(c);
        }
        finding x{"nic_irq_affinity", "ok", v.empty() ? "none" : v, ""};
        for (const auto& role : spinning)
            for (int c : cfg.threads.at(role).cpus)
                if (irq_cpus.count(c)) {
                    x.status = "warning";
                    x.advice = "NIC interrupts may run on CPU " + std::to_string(c) + ", where " + role +
                               " spins: move them (/proc/irq/N/smp_affinity_list, or irqbalance --banirq)";
                }
        if (v.empty()) {
            x.status = "info";
            x.advice = "no NIC interrupts found";
        }
        f.push_back(x);
    }
    {
        rlimit lim{};
        ::getrlimit(RLIMIT_MEMLOCK, &lim);
        const bool unlimited = lim.rlim_cur == RLIM_INFINITY;
        finding x{"memlock", "ok", unlimited ? "unlimited" : std::to_string(lim.rlim_cur), ""};
        utsname u{};
        ::uname(&u);
        int major = 0, minor = 0;
        std::sscanf(u.release, "%d.%d", &major, &minor);
        const bool charged = major < 5 || (major == 5 && minor < 12);  // io_uring rings count against memlock before 5.12
        if (charged && !unlimited && lim.rlim_cur < (64u << 20)) {
            x.status = "warning";
            x.advice = "kernel " + std::string(u.release) + " charges io_uring rings to locked memory: raise it (LimitMEMLOCK=infinity)";
        }
        f.push_back(x);
    }
    {
        io_uring ring{};
        const int rc = io_uring_queue_init(2, &ring, 0);
        if (rc == 0) io_uring_queue_exit(&ring);
        finding x{"io_uring", rc == 0 ? "ok" : "warning", rc == 0 ? "available" : std::string("error ") + std::to_string(-rc), ""};
        if (rc != 0)
            x.advice = "io_uring cannot be set up (" + std::string(std::strerror(-rc)) +
                       "): the stats server and file outputs need it (kernel.io_uring_disabled, seccomp, memlock)";
        f.push_back(x);
    }
    {
        const std::string enabled = selected(read_trimmed("/sys/kernel/mm/transparent_hugepage/enabled"));
        const std::string defrag = selected(read_trimmed("/sys/kernel/mm/transparent_hugepage/defrag"));
        finding x{"transparent_hugepages", "ok", enabled + "/" + defrag, ""};
        if (enabled == "always" && defrag == "always") {
            x.status = "warning";
            x.advice = "THP defrag=always compacts memory in page faults (latency spikes): set defrag to defer or madvise";
        }
        f.push_back(x);
    }
    {
        std::ifstream in("/proc/swaps");
        std::string line;
        std::getline(in, line);
        long long kb = 0;
        for (; std::getline(in, line);) {
            std::istringstream ls(line);
            std::string name, type;
            long long size = 0;
            if (ls >> name >> type >> size) kb += size;
        }
        finding x{"swap", "ok", std::to_string(kb), ""};
        if (kb > 0) {
            x.status = "warning";
            x.advice = "swap is on: a latency-sensitive process's pages can be swapped out; disable it or set MemorySwapMax=0 for the unit";
        }
        f.push_back(x);
    }
    return f;
}

}  // namespace

int doctor_command(const doctor_options& o) {
    const settings cfg = load_settings(o.config, o.sets);
    const std::vector<finding> findings = examine(cfg);
    int warnings = 0;
    for (const auto& x : findings) warnings += x.status == "warning";
    if (o.json) {
        std::string out;
        json_writer w(out);
        w.begin_object().key("findings").begin_array();
        for (const auto& x : findings) {
            w.begin_object().field("check", std::string_view(x.check)).field("status", std::string_view(x.status));
            w.field("value", std::string_view(x.value)).field("advice", std::string_view(x.advice)).end_object();
        }
        w.end_array().field("warnings", warnings).end_object();
        std::printf("%s\n", out.c_str());
    } else {
        for (const auto& x : findings)
            std::printf("%-8s %-22s %-24s %s\n", x.status == "ok" ? "ok" : x.status == "info" ? "info" : "WARNING",
                        x.check.c_str(), x.value.c_str(), x.advice.c_str());
        std::printf("%d warning%s\n", warnings, warnings == 1 ? "" : "s");
    }
    return warnings ? 1 : 0;
}

}  // namespace sluice
