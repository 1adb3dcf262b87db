// The decode ceiling: simdjson on-demand over already padded payloads, nothing else.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

namespace sluice::bench {

// Each payload followed by simdjson's padding, so the parse copies nothing.
inline std::vector<std::string> padded(const std::vector<std::string>& payloads) {
    std::vector<std::string> out;
    out.reserve(payloads.size());
    for (const auto& p : payloads) out.push_back(p + std::string(simdjson::SIMDJSON_PADDING, '\0'));
    return out;
}

// Walks every top-level key of every payload and touches no value: the least
// any decoder of these events must do. Returns the keys seen.
inline std::size_t bare_parse(simdjson::ondemand::parser& parser, const std::vector<std::string>& padded) {
    std::size_t keys = 0;
    for (const auto& p : padded) {
        simdjson::ondemand::document doc;
        simdjson::ondemand::object obj;
        if (parser.iterate(p.data(), p.size() - simdjson::SIMDJSON_PADDING, p.size()).get(doc) ||
            doc.get_object().get(obj))
            continue;
        for (auto f : obj) {
            std::string_view k;
            if (!f.unescaped_key().get(k)) ++keys;
        }
    }
    return keys;
}

}  // namespace sluice::bench
