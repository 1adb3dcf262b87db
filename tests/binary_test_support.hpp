// Helpers for tests of the sluice binary as a process: starting it, a free
// port for its HTTP endpoint, GET on that endpoint.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sluice::testing {

// The sluice binary under test ($SLUICE_BIN); throws if it is not set.
std::string sluice_binary();

// Starts sluice_binary() with args (without argv[0]), its stdout to out_path
// and its stderr to err_path, or to out_path too when err_path is empty; its
// environment is this process's plus env_add ("NAME=value"). Throws if it
// cannot start.
pid_t spawn_sluice(std::vector<std::string> args, const std::string& out_path, const std::string& err_path = "",
                   const std::vector<std::string>& env_add = {});

// SIGKILL and reap, for a child still running when its test ends.
void kill_and_reap(pid_t pid);

// A loopback port nothing listens on now (the kernel picks it), so parallel
// runs and the embedded broker's own ephemeral ports cannot collide with it.
int free_loopback_port();

// "STATUS LINE" of an HTTP answer plus its body, or "connect failed".
std::string http_get(int port, const std::string& path);

}  // namespace sluice::testing
