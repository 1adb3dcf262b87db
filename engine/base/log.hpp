// The process logger: levels, text or JSON lines on stderr, rate-limited per message kind.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class log_level : int { debug = 0, info = 1, warning = 2, error = 3 };
std::optional<log_level> parse_log_level(std::string_view name) noexcept;
std::string_view to_string(log_level level) noexcept;

// Design: any thread may log (the control thread, role threads on their
// error paths, librdkafka's threads through its log callback); a mutex
// orders the lines. Nothing on the hot path logs: only set-up, errors and
// state changes. Each line is one write(2) to stderr.
//
// Rate limit: at most log_burst lines of one kind per log_window_s seconds;
// the next line of that kind after the window says how many were dropped.
inline constexpr int log_burst = 5;
inline constexpr int log_window_s = 10;

// Control thread, before other threads start (and on reload for the level).
void log_configure(log_level level, bool json);
void log_set_level(log_level level) noexcept;
bool log_enabled(log_level level) noexcept;

// kind: a short stable name of what happened ("commit", "rdkafka.FAIL"),
// the unit of rate limiting and a field of JSON lines.
void log_write(log_level level, std::string_view kind, std::string_view message);
void logf(log_level level, const char* kind, const char* format, ...) __attribute__((format(printf, 3, 4)));

// Sends librdkafka's own log lines of handles built from conf through the
// logger, as kind "rdkafka.FACILITY" with the client's name.
void log_kafka_through_logger(rd_kafka_conf_t* conf) noexcept;

}  // namespace sluice
