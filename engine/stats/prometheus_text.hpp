// Pieces of the Prometheus text format shared by the code that writes /metrics.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// A label value as the text format wants it: backslash, quote and newline escaped.
inline std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out.append("\\n");
            continue;
        }
        out.push_back(c);
    }
    return out;
}

}  // namespace sluice
