// Faults injected into a running embedded broker, one text command at a time.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

class embedded_broker;

// Design: one control thread calls apply(); the mock cluster applies each
// change on its own thread before apply() returns. A line is parsed in full
// before anything is changed, so a bad line changes nothing.
class broker_control {
public:
    explicit broker_control(embedded_broker& broker) noexcept : broker_(broker) {}

    // Applies one command line and returns the one-line reply: "ok: ..." with
    // the command as applied, "" for a blank or comment line, or
    // "error: ..." (the broker unchanged). Never throws.
    std::string apply(std::string_view line) noexcept;

    // The commands, one per line.
    static const char* help() noexcept;

private:
    std::string apply_words(std::string_view line);
    embedded_broker& broker_;
};

}  // namespace sluice
