// The dead-letter record formats: the original bytes with sluice.* headers, or the producer service's JSON envelope.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class dlq_format : std::uint8_t {
    headers,   // value: the original bytes (the Kafka Connect convention)
    envelope,  // value: {"event"|"event_raw","topic","failure_reason","attempt_count","first_attempt","last_attempt"}
};

// Parses "headers" or "envelope".
std::optional<dlq_format> parse_dlq_format(std::string_view text) noexcept;
const char* dlq_format_name(dlq_format f) noexcept;

// What a dead letter says about its event besides the bytes.
struct dead_letter_facts {
    std::string_view topic;           // the event's source topic
    std::string_view failure_reason;
    std::uint32_t attempt_count = 1;
    std::int64_t first_attempt_ns = 0;  // wall clock
    std::int64_t last_attempt_ns = 0;
};

// The envelope record for event bytes `original`: "event" holds the event
// itself when it is a JSON document without surrounding whitespace (so its
// bytes come back exactly), else "event_raw" holds the bytes as a JSON
// string, base64 with "event_encoding":"base64" when they are not UTF-8.
void write_envelope(std::string& out, std::string_view original, const dead_letter_facts& facts);

// The original event bytes of an envelope record; nullopt (and why) when
// value is not one.
std::optional<std::string> envelope_event(std::string_view value, std::string& why);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sluice
