// Reads the whole user.created topic into a user_directory, then keeps following it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "decode/decoder.hpp"
#include "decode/type_registry.hpp"
#include "kafka/kafka_handles.hpp"
#include "user_directory.hpp"

namespace sluice {

// The keys the user directory reads (sinks.enrichment.directory.*), for the seed domain.
void register_directory_keys(config_registry& keys);

// Design: like a Kafka Streams GlobalKTable. A consumer outside the group is
// assigned every partition of the topic from the beginning. The constructor
// (control thread) blocks until each partition reached the end offset it had
// at start, so joins never depend on which partition the group read first;
// poll() (the thread that runs the owning sink) then applies new users as they arrive.
class directory_follower {
public:
    // files: JSON lines read first (user.created events; other lines are
    // skipped); topic: followed afterwards, none if empty.
    directory_follower(const std::string& bootstrap, const std::string& topic,
                       const std::vector<std::string>& files, std::uint32_t sync_timeout_ms,
                       const std::map<std::string, std::string>& props, user_directory& dir);
    // What the settings ask for: the bootstrap file and the directory topic;
    // for a replay, the bootstrap file and the replay file itself (the
    // events it replays are the whole world), no topic.
    static std::unique_ptr<directory_follower> of(const settings& cfg, const std::string& bootstrap,
                                                  user_directory& dir);
    ~directory_follower();

    // Sink thread: apply whatever arrived; returns the number of users applied.
    std::size_t poll();
    std::uint64_t loaded() const noexcept { return loaded_; }
    std::uint64_t rejected() const noexcept { return rejected_; }

private:
    void apply(const void* data, std::size_t len);
    void load_file(const std::string& path);

    static constexpr std::size_t max_line = 1 << 20;  // longer: cut, not a user

    user_directory& dir_;
    type_registry types_;
    decoder decoder_;
    type_id user_created_;
    standalone_event event_;
    kafka_handle rk_;
    std::uint64_t loaded_ = 0, rejected_ = 0;
};

}  // namespace sluice
