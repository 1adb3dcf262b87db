// The stats server: line protocol on a Unix socket, HTTP on loopback, one io_uring thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "stats/stats_report.hpp"
#include "stats/stats_session.hpp"

namespace sluice {

// Design: the constructor (control thread) binds the sockets, so a bad path or
// port fails start-up with a clear error; run() is the stats thread.
class stats_server {
public:
    stats_server(const stats_report& report, const std::string& socket_path, std::uint32_t mode,
                 const std::string& http, const stats_limits& limits);
    ~stats_server();

    void run(const std::atomic<bool>& stop);
    // Iterations of the server loop (at least every 200 ms): the watchdog's sign of life.
    std::uint64_t loops() const noexcept { return loops_.load(std::memory_order_relaxed); }

private:
    struct impl;
    const stats_report& report_;
    std::string path_;
    stats_limits limits_;
    std::unique_ptr<impl> impl_;
    std::atomic<std::uint64_t> loops_{0};
};

}  // namespace sluice
