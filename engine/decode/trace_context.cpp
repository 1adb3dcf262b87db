// Reading the configured trace headers of a consumed message.
#include "decode/trace_context.hpp"

namespace sluice {

const std::vector<std::string>& default_trace_headers() {
    // sluice.redrive.count too: the dead letter of a redriven event keeps
    // counting, and its outputs say it was redriven.
    static const std::vector<std::string> names = {"traceparent", "tracestate", "trace-id", "correlation-id",
                                                   "sluice.redrive.count"};
    return names;
}

std::size_t read_trace_headers(const rd_kafka_message_t* m, const std::vector<std::string>& names,
                               trace_header* out) noexcept {
    if (names.empty()) return 0;
    rd_kafka_headers_t* hdrs = nullptr;
    // rd_kafka_message_headers wants a non-const message: it parses lazily.
    if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(m), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs)
        return 0;
    std::size_t n = 0;
    for (const std::string& name : names) {
        const void* value = nullptr;
        std::size_t size = 0;
        if (rd_kafka_header_get_last(hdrs, name.c_str(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        if (!value && size == 0) value = "";  // present with a null value: carried as empty
        out[n++] = {name.c_str(), {static_cast<const char*>(value), size}};
    }
    return n;
}

}  // namespace sluice
