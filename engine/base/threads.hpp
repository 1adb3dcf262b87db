// Starting role threads: named, optionally pinned, with signals blocked.
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace sluice {

// Starts fn on a new thread named `name` (15 characters max, e.g. "sink-notif"),
// pinned to cpus when not empty, with all signals blocked so that only the
// main thread handles SIGINT/SIGTERM. A pinning refusal is reported on stderr.
std::thread start_role_thread(const std::string& name, const std::vector<int>& cpus,
                              std::function<void()> fn);

// Blocks SIGINT/SIGTERM/SIGHUP/SIGPIPE in the calling thread (inherited by threads
// it starts, librdkafka's included) and returns nothing; main waits with sigwait.
void block_shutdown_signals();

}  // namespace sluice
