// ISO 8601 / RFC 3339 timestamps to nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

// Accepts YYYY-MM-DDTHH:MM:SS with an optional fraction (up to 9 digits) and
// an optional zone (Z, +HH:MM, +HHMM, -HH:MM); no zone means UTC. A space may
// stand for the T. Returns nullopt for anything else, including out-of-range
// fields (month 13, second 61, hour 24).
std::optional<std::int64_t> parse_iso8601_ns(std::string_view text) noexcept;

// Formats as YYYY-MM-DDTHH:MM:SS.mmmZ into out (at least 24 bytes); returns length.
std::size_t format_iso8601_ms(std::int64_t ns, char* out) noexcept;

}  // namespace sluice
