// An event in the pipeline: its bytes until confirmed, its decoded form until handed over.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>

#include "decode/event.hpp"
#include "decode/trace_context.hpp"

namespace sluice {

inline constexpr std::size_t json_padding = 64;  // SIMDJSON_PADDING in simdjson 3.0.1

// Design: an event has two parts with two lives.
// - in_flight_event: its bytes (payload, key, trace header values, and the
//   decoder's arena) and identity, from dispatch until every record written
//   for it is confirmed (or it is dead-lettered). pending counts the shares
//   not yet finished; the thread whose release brings it to 0 reports the
//   completion (partition, epoch, seq), after which the source may reuse it.
//   A failed record is retried and dead-lettered from what it keeps.
// - event_slot: the decoded form the sinks read, from dispatch until every
//   sink it was routed to has handed its records to its output. pending
//   counts the sinks still reading it; at 0 the source may refill it, while
//   the deliveries are still outstanding.
// The source fills both in pool order: an in-flight event is not reused
// before it is confirmed, so in_flight.size() bounds the events between the
// oldest unconfirmed one and the newest dispatched.
// Cache-line aligned: neighbouring entries would otherwise share a line, and
// the source filling one would take that line from the sinks reading the other.
struct alignas(64) in_flight_event {
    std::atomic<std::uint32_t> pending{0};
    std::uint32_t partition = 0;       // commit tracker's partition index
    std::uint64_t seq = 0;             // per-partition dispatch sequence
    std::uint32_t epoch = 0;           // the partition's assignment epoch at dispatch
    std::uint32_t held_bytes = 0;      // its buffer's size: counted in pipeline.unconfirmed.max.bytes
    std::int64_t offset = 0;           // Kafka offset
    std::int64_t kafka_ts_ns = 0;      // broker/producer timestamp, for end-to-end latency
    std::int64_t consumed_ns = 0;      // monotonic, when the source took it: in-pipeline latency
    str_ref correlation_id;            // the decoded envelope's, for the trace

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
        if (!correlation && !correlation_id.empty()) out[n++] = {correlation_header, str(correlation_id)};
        return {out, n};
    }

    // Before the pipeline starts: room for events of up to cap bytes, so the
    // source's first pass over the pool does not allocate.
    void reserve(std::size_t cap) {
        if (cap <= cap_) return;
        buffer_.reset(new char[cap + json_padding + cap + 32]);  // see buffer_size()
        cap_ = cap;
    }

    // Source thread: copy a payload (and key, and trace header values) in,
    // growing the buffer only when a larger message than ever before arrives
    // (no allocation in steady state). Header names must outlive the event.
    void assign(const void* data, std::size_t len, const void* key = nullptr, std::size_t key_len = 0,
                const trace_header* trace = nullptr, std::size_t trace_count = 0) {
        std::size_t trace_len = 0;
        for (std::size_t i = 0; i < trace_count; ++i) trace_len += trace[i].value.size();
        const std::size_t need = len + key_len + trace_len;
        // A buffer grown for a huge event shrinks after it held small ones
        // for a while, so the pool's memory follows the events in flight
        // without an allocation per event when huge and small ones alternate.
        if (cap_ > shrink_above) {
            small_uses_ = need <= cap_ / 4 ? small_uses_ + 1 : 0;
            if (small_uses_ >= shrink_after_uses) {
                buffer_.reset();
                cap_ = 0;
                small_uses_ = 0;
            }
        }
        if (need > cap_ || !buffer_) {
            std::size_t cap = cap_ ? cap_ : 512;
            while (cap < need) cap *= 2;
            reserve(cap);
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
        // The decoder sets it; events it never sees (oversize) have none.
        correlation_id = {};
        len_ = static_cast<std::uint32_t>(len);
        key_len_ = static_cast<std::uint32_t>(key_len);
        held_bytes = static_cast<std::uint32_t>(buffer_size());
    }

private:
    static constexpr std::size_t shrink_above = 64 * 1024;
    static constexpr std::uint32_t shrink_after_uses = 8;
    std::uint32_t small_uses_ = 0;  // consecutive events of a quarter of a huge buffer or less
    std::unique_ptr<char[]> buffer_;
    std::size_t cap_ = 0;
    std::uint32_t len_ = 0;
    std::uint32_t key_len_ = 0;
    std::uint32_t trace_count_ = 0;
    const char* trace_names_[max_trace_headers];
    str_ref trace_values_[max_trace_headers];
};

struct alignas(64) event_slot {
    std::atomic<std::uint32_t> pending{0};  // sinks still reading it
    std::uint32_t partition = 0;       // as in the in-flight event, for the sinks
    std::uint32_t event_index = 0;     // its in-flight event's index in flow.in_flight
    std::uint8_t routed = 0;           // sink mask
    std::int64_t offset = 0;           // Kafka offset
    std::int64_t dispatched_ns = 0;    // monotonic, for queue-wait latency
    in_flight_event* original = nullptr;  // its bytes; set at dispatch
    event ev;                          // what the engine reads of the decoded event

    // The pipeline's schema decodes into fixed storage in the slot, so the
    // engine needs no type of it and a slot costs no allocation or indirection.
    // A slot is three cache lines; a schema whose fields outgrow them raises
    // fields_capacity (the static_assert below names it).
    static constexpr std::size_t fields_capacity = 136;
    static constexpr std::size_t fields_alignment = 8;
    template <typename Fields>
    Fields& fields() noexcept {
        check_fields<Fields>();
        return *std::launder(reinterpret_cast<Fields*>(fields_));
    }
    template <typename Fields>
    const Fields& fields() const noexcept {
        check_fields<Fields>();
        return *std::launder(reinterpret_cast<const Fields*>(fields_));
    }

    // Zero bytes: what a schema's fields hold when it never ran (an event
    // rejected before the schema: tombstone, empty, oversize, not an object).
    void clear_fields() noexcept { std::memset(fields_, 0, sizeof fields_); }

    char* payload() noexcept { return original->payload(); }
    const char* payload() const noexcept { return original->payload(); }
    std::uint32_t payload_len() const noexcept { return original->payload_len(); }
    std::size_t arena_offset() const noexcept { return original->arena_offset(); }
    std::size_t arena_capacity() const noexcept { return original->arena_capacity(); }
    std::string_view str(str_ref r) const noexcept { return original->str(r); }
    std::string_view key() const noexcept { return original->key(); }
    trace_view trace(trace_header* out) const noexcept { return original->trace(out); }

private:
    template <typename Fields>
    static constexpr void check_fields() noexcept {
        // Bytes are the whole lifetime: the storage is reused by assignment,
        // never constructed or destroyed.
        static_assert(std::is_trivially_copyable_v<Fields> && std::is_trivially_destructible_v<Fields>,
                      "a schema's fields must be trivially copyable");
        static_assert(sizeof(Fields) <= fields_capacity, "a schema's fields must fit event_slot::fields_capacity");
        static_assert(alignof(Fields) <= fields_alignment, "a schema's fields must fit event_slot::fields_alignment");
    }
    // An array of bytes implicitly creates the trivially copyable object
    // that fields<T>() refers to.
    alignas(fields_alignment) std::byte fields_[fields_capacity]{};
};
static_assert(sizeof(event_slot) == 3 * 64, "fields_capacity fills the slot's third cache line");

// A slot with bytes of its own, for decoding outside the pipeline (the user
// directory, tests, benchmarks). Not copyable: the slot points at the bytes.
struct standalone_event {
    in_flight_event bytes;
    event_slot slot;
    standalone_event() noexcept { slot.original = &bytes; }
    standalone_event(const standalone_event&) = delete;
    standalone_event& operator=(const standalone_event&) = delete;
    void assign(const void* data, std::size_t len) { bytes.assign(data, len); }
};

}  // namespace sluice
