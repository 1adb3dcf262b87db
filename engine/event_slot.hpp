// One in-flight event: its padded payload copy, decoded form and bookkeeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "event.hpp"
#include "trace_context.hpp"

namespace sluice {

inline constexpr std::size_t json_padding = 64;  // SIMDJSON_PADDING in simdjson 3.0.1

// Design: the source thread fills a slot whose pending count is 0, sets pending
// to the number of sinks it routes to, then hands the slot's index to those
// sinks. Sinks only read it; each calls release once when done. The thread
// whose release brings pending to 0 reports the completion (partition, seq),
// after which the source may refill the slot.
// Cache-line aligned: unaligned, neighbouring slots shared a line, and the
// source filling one slot took that line from the sinks reading the other.
struct alignas(64) event_slot {
    std::atomic<std::uint32_t> pending{0};
    std::uint32_t partition = 0;       // commit tracker's partition index
    std::uint64_t seq = 0;             // per-partition dispatch sequence
    std::uint32_t epoch = 0;           // the partition's assignment epoch at dispatch
    std::int64_t offset = 0;           // Kafka offset
    std::int64_t kafka_ts_ns = 0;      // broker/producer timestamp, for end-to-end latency
    std::int64_t consumed_ns = 0;      // monotonic, when the source took it: in-pipeline latency
    std::int64_t dispatched_ns = 0;    // monotonic, for queue-wait latency
    std::uint8_t routed = 0;           // sink mask
    event ev;

    char* payload() noexcept { return buffer_.get(); }
    const char* payload() const noexcept { return buffer_.get(); }
    std::uint32_t payload_len() const noexcept { return len_; }
    std::size_t payload_capacity() const noexcept { return cap_; }  // excluding padding
    // One buffer: the padded payload (and key), then the arena that holds
    // decoded strings which needed unescaping. A str_ref is an offset into
    // the whole buffer, so a string without escapes refers to the payload
    // in place.
    std::size_t buffer_size() const noexcept { return arena_offset() + arena_capacity(); }
    std::size_t arena_offset() const noexcept { return cap_ + json_padding; }
    std::size_t arena_capacity() const noexcept { return cap_ + 32; }

    std::string_view str(str_ref r) const noexcept { return {buffer_.get() + r.off, r.len}; }
    // The Kafka message key, stored after the padded payload.
    std::string_view key() const noexcept { return {buffer_.get() + len_ + json_padding, key_len_}; }

    // The trace context to carry into every record written for this event:
    // the propagated headers it arrived with, then the envelope's
    // correlation id as correlation-id unless that header came too. out has
    // room for max_trace_headers + 1; returns the view over it.
    trace_view trace(trace_header* out) const noexcept {
        std::size_t n = 0;
        bool correlation = false;
        for (std::uint32_t i = 0; i < trace_count_; ++i) {
            out[n++] = {trace_names_[i], str(trace_values_[i])};
            correlation |= std::strcmp(trace_names_[i], correlation_header) == 0;
        }
        if (!correlation && !ev.correlation_id.empty()) out[n++] = {correlation_header, str(ev.correlation_id)};
        return {out, n};
    }

    // Source thread: copy a payload (and key, and trace header values) in,
    // growing the buffers only when a larger message than ever before arrives
    // (no allocation in steady state). Header names must outlive the event.
    void assign(const void* data, std::size_t len, const void* key = nullptr, std::size_t key_len = 0,
                const trace_header* trace = nullptr, std::size_t trace_count = 0) {
        std::size_t trace_len = 0;
        for (std::size_t i = 0; i < trace_count; ++i) trace_len += trace[i].value.size();
        const std::size_t need = len + key_len + trace_len;
        if (need > cap_ || !buffer_) {
            std::size_t cap = cap_ ? cap_ : 512;
            while (cap < need) cap *= 2;
            buffer_.reset(new char[cap + json_padding + cap + 32]);  // see buffer_size()
            cap_ = cap;
        }
        if (len) std::memcpy(buffer_.get(), data, len);
        std::memset(buffer_.get() + len, 0, json_padding);
        std::size_t at = len + json_padding;
        if (key_len) std::memcpy(buffer_.get() + at, key, key_len);
        at += key_len;
        trace_count_ = 0;
        for (std::size_t i = 0; i < trace_count && i < max_trace_headers; ++i) {
            const std::string_view v = trace[i].value;
            if (!v.empty()) std::memcpy(buffer_.get() + at, v.data(), v.size());
            trace_names_[trace_count_] = trace[i].name;
            trace_values_[trace_count_++] = {static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(v.size())};
            at += v.size();
        }
        // The decoder sets it again; events it never sees (oversize) have none.
        ev.correlation_id = {};
        len_ = static_cast<std::uint32_t>(len);
        key_len_ = static_cast<std::uint32_t>(key_len);
    }

private:
    std::unique_ptr<char[]> buffer_;
    std::size_t cap_ = 0;
    std::uint32_t len_ = 0;
    std::uint32_t key_len_ = 0;
    std::uint32_t trace_count_ = 0;
    const char* trace_names_[max_trace_headers];
    str_ref trace_values_[max_trace_headers];
};

}  // namespace sluice
