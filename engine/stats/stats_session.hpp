// The stats protocol of one client, without I/O: request bytes in, answer bytes out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stats/stats_report.hpp"

namespace sluice {

// Per-client limits, so abusive clients cost bounded memory and never block
// the others (or the pipeline, which the stats thread never touches).
struct stats_limits {
    std::size_t max_clients = 64;
    std::size_t max_line_bytes = 4096;          // longer: error answer, then closed
    std::size_t max_output_bytes = 4 << 20;     // unread answers beyond this: closed
    std::uint32_t idle_timeout_ms = 30000;      // no complete request for this long: closed
};

// Line protocol: each '\n'-terminated line is one request, answered with the
// answer and a blank line. HTTP: one GET per connection (/metrics, /stats,
// /hist/NAME), then close.
class stats_session {
public:
    enum class next {
        read_more,         // send what is in out (if anything) and keep reading
        close_after_send,  // send what is in out, then close
        drop,              // close now: the client does not read its answers
    };

    stats_session(const stats_report& report, const stats_limits& limits, bool http)
        : report_(report), limits_(limits), http_(http) {}

    // Takes bytes received; appends answers to out (the unsent bytes so far).
    next feed(std::string_view bytes, std::string& out);

private:
    struct http_reply {
        std::string status, type, body;
    };
    next feed_http(std::string& out);
    // The answer to GET path (any path: unknown ones get a 404).
    http_reply reply_to_get(std::string_view path) const;
    next feed_lines(std::string& out);

    const stats_report& report_;
    const stats_limits& limits_;
    bool http_;
    std::string in_;  // bytes of the request not yet complete
    interval_state interval_;  // for the `interval` command
};

}  // namespace sluice
