// Building and reading envelope dead letters.
#include "dead_letter/dead_letter_record.hpp"

#include <simdjson.h>

#include "base/json_writer.hpp"
#include "base/timestamp.hpp"

namespace sluice {

std::optional<dlq_format> parse_dlq_format(std::string_view text) noexcept {
    if (text == "headers") return dlq_format::headers;
    if (text == "envelope") return dlq_format::envelope;
    return std::nullopt;
}

const char* dlq_format_name(dlq_format f) noexcept {
    return f == dlq_format::envelope ? "envelope" : "headers";
}

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A whole JSON document (any value), validated completely.
bool is_json_document(std::string_view bytes) {
    if (bytes.empty() || is_space(bytes.front()) || is_space(bytes.back())) return false;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    return parser.parse(bytes.data(), bytes.size(), true).get(doc) == simdjson::SUCCESS;
}
}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16 | std::uint32_t(std::uint8_t(bytes[i + 1])) << 8 |
                                std::uint8_t(bytes[i + 2]);
        out += {b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63]};
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        if (rest == 2) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
        out += {b64[v >> 18], b64[(v >> 12) & 63], rest == 2 ? b64[(v >> 6) & 63] : '=', '='};
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + k];
            int d = 0;
            if (k >= 4 - pad) {
                if (c != '=') return std::nullopt;
            } else if ((d = value(c)) < 0) {
                return std::nullopt;
            }
            v = v << 6 | std::uint32_t(d);
        }
        out.push_back(char(v >> 16));
        if (pad < 2) out.push_back(char((v >> 8) & 0xff));
        if (pad < 1) out.push_back(char(v & 0xff));
    }
    return out;
}

void write_envelope(std::string& out, std::string_view original, const dead_letter_facts& facts) {
    out.clear();
    json_writer w(out);
    w.begin_object();
    if (is_json_document(original)) {
        w.key("event").raw(original);
    } else if (simdjson::validate_utf8(original.data(), original.size())) {
        w.field("event_raw", original);
    } else {
        w.field("event_raw", std::string_view(base64_encode(original))).field("event_encoding", "base64");
    }
    char first[40], last[40];
    const std::size_t first_len = format_iso8601_ms(facts.first_attempt_ns, first);
    const std::size_t last_len = format_iso8601_ms(facts.last_attempt_ns, last);
    w.field("topic", facts.topic)
        .field("failure_reason", facts.failure_reason)
        .field("attempt_count", static_cast<std::uint64_t>(facts.attempt_count))
        .field("first_attempt", std::string_view(first, first_len))
        .field("last_attempt", std::string_view(last, last_len))
        .end_object();
}

std::optional<std::string> envelope_event(std::string_view value, std::string& why) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(value.data(), value.size(), true).get(obj) != simdjson::SUCCESS) {
        why = "not a JSON object";
        return std::nullopt;
    }
    simdjson::dom::element event;
    if (obj["event"].get(event) == simdjson::SUCCESS) {
        // sluice writes "event" first and embeds the bytes verbatim, so they
        // are the text up to the envelope's own ,"topic": (a "topic" inside
        // the event comes earlier; one inside a string value is escaped).
        const std::string_view head = "{\"event\":";
        const std::size_t end = value.rfind(",\"topic\":");
        if (value.starts_with(head) && end != std::string_view::npos && end > head.size())
            return std::string(value.substr(head.size(), end - head.size()));
        // Another writer's envelope: the event, minified.
        return simdjson::minify(event);
    }
    std::string_view raw;
    if (obj["event_raw"].get(raw) != simdjson::SUCCESS) {
        why = "neither event nor event_raw";
        return std::nullopt;
    }
    std::string_view encoding;
    if (obj["event_encoding"].get(encoding) == simdjson::SUCCESS) {
        if (encoding != "base64") {
            why = "unknown event_encoding";
            return std::nullopt;
        }
        auto bytes = base64_decode(raw);
        if (!bytes) why = "event_raw is not base64";
        return bytes;
    }
    return std::string(raw);
}

}  // namespace sluice
