// Reads the whole user.created topic into a user_directory, then keeps following it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "decoder.hpp"
#include "kafka_handles.hpp"
#include "type_registry.hpp"
#include "user_directory.hpp"

namespace sluice {

// Design: like a Kafka Streams GlobalKTable. A consumer outside the group is
// assigned every partition of the topic from the beginning. The constructor
// (control thread) blocks until each partition reached the end offset it had
// at start, so joins never depend on which partition the group read first;
// poll() (the owning sink thread) then applies new users as they arrive.
class directory_follower {
public:
    directory_follower(const std::string& bootstrap, const std::string& topic,
                       const std::string& bootstrap_file, std::uint32_t sync_timeout_ms,
                       const std::map<std::string, std::string>& props, user_directory& dir);
    ~directory_follower();

    // Sink thread: apply whatever arrived; returns the number of users applied.
    std::size_t poll();
    std::uint64_t loaded() const noexcept { return loaded_; }
    std::uint64_t rejected() const noexcept { return rejected_; }

private:
    void apply(const void* data, std::size_t len);
    void load_file(const std::string& path);

    user_directory& dir_;
    type_registry types_;
    decoder decoder_;
    event_slot slot_;
    kafka_handle rk_;
    kafka_queue queue_;
    std::uint64_t loaded_ = 0, rejected_ = 0;
};

}  // namespace sluice
