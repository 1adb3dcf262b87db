// Trace context (W3C traceparent/tracestate, trace-id, correlation-id) carried from an event to every record written for it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace sluice {

// Headers propagated at most: kafka.trace.headers is limited to this many.
inline constexpr std::size_t max_trace_headers = 16;

// One propagated header. name is NUL-terminated and outlives the event (it is
// a configured name or a literal); value refers to the event's slot.
struct trace_header {
    const char* name = "";
    std::string_view value;
};

// The trace context of one record: views, built on the stack, never owned.
struct trace_view {
    const trace_header* items = nullptr;
    std::size_t count = 0;
    bool empty() const noexcept { return count == 0; }
};

// The header an envelope correlation_id/correlationId travels as when the
// event did not carry that header itself.
inline constexpr const char* correlation_header = "correlation-id";

// The default kafka.trace.headers.
const std::vector<std::string>& default_trace_headers();

// Source thread: the configured headers present on m, in configured order,
// into out (room for names.size()); returns how many. Values are views into
// m. No allocation by sluice (librdkafka parses the headers once per message).
std::size_t read_trace_headers(const rd_kafka_message_t* m, const std::vector<std::string>& names,
                               trace_header* out) noexcept;

}  // namespace sluice
