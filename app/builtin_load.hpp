// The built-in load of `sluice run` (loadgen.rate): seed events produced to the pipeline's brokers.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace sluice {

// Design: the control thread constructs (which starts the "loadgen" thread)
// and destroys (which stops and joins it); the loadgen thread only produces.
// bootstrap and cfg must outlive the object.
class builtin_load {
public:
    builtin_load(const std::string& bootstrap, const settings& cfg);
    ~builtin_load();
    builtin_load(const builtin_load&) = delete;
    builtin_load& operator=(const builtin_load&) = delete;

private:
    void produce();

    const std::string& bootstrap_;
    const settings& cfg_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace sluice
