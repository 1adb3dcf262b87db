// pthread naming, affinity and signal masks.
#include "base/threads.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "base/log.hpp"

#include <cstdio>
#include <system_error>

namespace sluice {

void block_shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);  // reload: taken by sigtimedwait like the others
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::thread start_role_thread(const std::string& name, const std::vector<int>& cpus,
                              std::function<void()> fn) {
    return std::thread([name, cpus, fn = std::move(fn)] {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        if (!cpus.empty()) {
            cpu_set_t set;
            CPU_ZERO(&set);
            for (int c : cpus) CPU_SET(c, &set);
            // The config loader checked the CPUs exist; a cgroup may still refuse.
            if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
                logf(log_level::warning, "threads", "cannot pin %s: %s", name.c_str(),
                             std::system_category().message(rc).c_str());
        }
        fn();
    });
}

}  // namespace sluice
