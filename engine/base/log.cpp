// Formatting, rate limiting and the librdkafka log callback of the process logger.
#include "base/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "base/json_writer.hpp"

namespace sluice {

namespace {

struct kind_budget {
    std::int64_t window_start_s = 0;
    int lines = 0;
    std::uint64_t suppressed = 0;
};

struct logger_state {
    std::atomic<int> level{static_cast<int>(log_level::info)};
    bool json = false;
    bool journal = false;  // stderr is the systemd journal: it adds the time
    std::mutex mu;
    std::unordered_map<std::string, kind_budget> budgets;
    std::string line;
};

logger_state& state() {
    // Never destroyed: librdkafka threads of a consumer left undestroyed (its
    // close did not finish) may still log while the process exits.
    static logger_state* s = new logger_state;
    return *s;
}

// JOURNAL_STREAM names the journal's stream as "dev:inode"; it is only ours
// if stderr still is that stream (not redirected by a wrapper).
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// sd-daemon(3) priority prefixes, which journald strips and stores.
const char* journal_prefix(log_level level) {
    switch (level) {
        case log_level::debug: return "<7>";
        case log_level::info: return "<6>";
        case log_level::warning: return "<4>";
        case log_level::error: return "<3>";
    }
    return "<6>";
}

void append_time(std::string& out) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1,
                                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1'000'000);
    out.append(buf, static_cast<std::size_t>(n));
}

void write_line(logger_state& s, log_level level, std::string_view kind, std::string_view message,
                std::uint64_t suppressed, std::string_view client) {
    std::string& out = s.line;
    out.clear();
    if (s.json) {
        json_writer w(out);
        std::string time;
        append_time(time);
        w.begin_object().field("time", std::string_view(time)).field("level", to_string(level)).field("kind", kind);
        w.field("message", message);
        if (!client.empty()) w.field("client", client);
        if (suppressed) w.field("suppressed_before", suppressed);
        w.end_object();
    } else {
        if (s.journal) {
            out += journal_prefix(level);
        } else {
            append_time(out);
            out += ' ';
            out += to_string(level);
            out += ' ';
        }
        out.append(kind).append(": ").append(message);
        if (!client.empty()) out.append(" (").append(client).append(")");
        if (suppressed)
            out += " (" + std::to_string(suppressed) + " more '" + std::string(kind) + "' lines were suppressed before this one)";
    }
    out.push_back('\n');
    std::size_t off = 0;
    while (off < out.size()) {
        const ssize_t n = ::write(STDERR_FILENO, out.data() + off, out.size() - off);
        if (n <= 0) break;  // nowhere to log to: drop the line rather than stall
        off += static_cast<std::size_t>(n);
    }
}

void log_with_client(log_level level, std::string_view kind, std::string_view message, std::string_view client) {
    if (!log_enabled(level)) return;
    logger_state& s = state();
    std::lock_guard lock(s.mu);
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    kind_budget& b = s.budgets[std::string(kind)];
    if (now.tv_sec - b.window_start_s >= log_window_s) {
        b.window_start_s = now.tv_sec;
        b.lines = 0;
    }
    if (b.lines >= log_burst) {
        ++b.suppressed;
        return;
    }
    ++b.lines;
    write_line(s, level, kind, message, b.suppressed, client);
    b.suppressed = 0;
}

void kafka_log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug.
    const log_level l = level <= 3 ? log_level::error
                        : level == 4 ? log_level::warning
                        : level <= 6 ? log_level::info
                                     : log_level::debug;
    if (!log_enabled(l)) return;
    const std::string kind = std::string("rdkafka.") + (fac ? fac : "");
    log_with_client(l, kind, buf ? buf : "", rk ? rd_kafka_name(rk) : "");
}

}  // namespace

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
    if (name == "debug") return log_level::debug;
    if (name == "info") return log_level::info;
    if (name == "warning") return log_level::warning;
    if (name == "error") return log_level::error;
    return std::nullopt;
}

std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warning: return "warning";
        case log_level::error: return "error";
    }
    return "info";
}

void log_configure(log_level level, bool json) {
    logger_state& s = state();
    std::lock_guard lock(s.mu);
    s.json = json;
    s.journal = !json && stderr_is_journal();
    s.level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void log_set_level(log_level level) noexcept {
    state().level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool log_enabled(log_level level) noexcept {
    return static_cast<int>(level) >= state().level.load(std::memory_order_relaxed);
}

void log_write(log_level level, std::string_view kind, std::string_view message) {
    log_with_client(level, kind, message, {});
}

void logf(log_level level, const char* kind, const char* format, ...) {
    if (!log_enabled(level)) return;
    char buf[2048];
    va_list ap;
    va_start(ap, format);
    const int n = std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    log_with_client(level, kind, std::string_view(buf, n < 0 ? 0 : std::min<std::size_t>(std::size_t(n), sizeof buf - 1)),
                    {});
}

void log_kafka_through_logger(rd_kafka_conf_t* conf) noexcept {
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
}

}  // namespace sluice
