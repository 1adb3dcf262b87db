// Where a sink's records go: a Kafka topic, an io_uring file appender, or nowhere.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "decode/trace_context.hpp"

namespace sluice {

// Called on the thread that runs the sink (from poll(), or from write() for immediate
// outcomes) once per record: error is nullptr when the record is durable.
struct delivery_handler {
    virtual ~delivery_handler() = default;
    virtual void delivered(std::uint64_t token, std::string_view key, std::string_view record,
                           const char* error) noexcept = 0;
    // The output replaced its producer after a fatal error (records it had
    // not confirmed were reported failed, and are retried as usual).
    virtual void rebuilt(const char* reason) noexcept {}
};

// Design: owned and used by the thread that runs its sink only.
class output {
public:
    virtual ~output() = default;
    // Queues a record; its outcome arrives through the handler exactly once,
    // with the record as given (without the trace). trace: the event's trace
    // context, written as headers (Kafka) or a "trace" field (files); its
    // views need only live for the call. Returns false, with no outcome to
    // come, when the output's queue is full: the caller offers it again
    // later (backpressure; an output never waits for room).
    virtual bool write(std::string_view key, std::string_view record, std::uint64_t token,
                       trace_view trace = {}) = 0;
    // End of a batch of writes: submit what was batched.
    virtual void flush() {}
    // Serves completions; returns true if any arrived.
    virtual bool poll() = 0;
    virtual std::size_t in_flight() const noexcept = 0;
    virtual std::string describe() const = 0;
};

std::unique_ptr<output> make_output(const output_spec& spec, const std::string& bootstrap,
                                    const std::map<std::string, std::string>& producer_props,
                                    delivery_handler& handler);

std::unique_ptr<output> make_file_output(const std::string& path, delivery_handler& handler);
std::unique_ptr<output> make_kafka_output(const std::string& topic, const std::string& bootstrap,
                                          const std::map<std::string, std::string>& producer_props,
                                          delivery_handler& handler);

}  // namespace sluice
