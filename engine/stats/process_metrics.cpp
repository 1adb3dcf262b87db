// Reads /proc/self for the process metrics; called on the stats thread at a scrape.
#include "stats/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/build_info.hpp"
#include "stats/prometheus_text.hpp"

namespace sluice {

namespace {

void gauge(std::string& out, const char* name, const char* type, const char* help, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + buf + "\n";
}

// Seconds since the epoch at which the system booted (/proc/stat btime).
double boot_time_s() {
    std::ifstream in("/proc/stat");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
    return 0;
}

}  // namespace

void append_process_metrics(std::string& out) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // /proc/self/stat: the command may contain spaces: fields start after the last ')'.
    std::ifstream stat_in("/proc/self/stat");
    const std::string stat((std::istreambuf_iterator<char>(stat_in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 2));
        std::string f;
        double utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
        // Field 3 (state) is the first here; utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
        for (int i = 3; i <= 24 && fields >> f; ++i) {
            if (i == 14) utime = std::stod(f);
            else if (i == 15) stime = std::stod(f);
            else if (i == 22) starttime = std::stod(f);
            else if (i == 23) vsize = std::stod(f);
            else if (i == 24) rss = std::stod(f);
        }
        gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
              (utime + stime) / ticks);
        gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss * page);
        gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
        gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
              boot_time_s() + starttime / ticks);
    }
    int fds = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++fds;
        ::closedir(d);
        --fds;  // the directory being read
    }
    gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
        gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(lim.rlim_cur));
    const build_info& b = build_info::get();
    out += "# HELP sluice_build_info The build: version, git revision and library versions (value 1).\n"
           "# TYPE sluice_build_info gauge\nsluice_build_info{version=\"" + escape_label(b.version) +
           "\",revision=\"" + escape_label(b.revision) + "\",librdkafka=\"" + escape_label(b.librdkafka) +
           "\",simdjson=\"" + escape_label(b.simdjson) + "\",liburing=\"" + escape_label(b.liburing) + "\"} 1\n";
}

}  // namespace sluice
