// Redrive: send dead letters (either format) back to their source topic once the cause is fixed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace sluice {

struct redrive_options {
    std::string bootstrap;
    std::string topic;                // the dead-letter topic, e.g. task.updated.dlq
    std::string reason;               // only dead letters whose failure_reason contains this ("" all)
    std::string to = "source";        // "source" (each one's source topic and partition) or a topic
    bool dry_run = false;             // say what would be sent; send and commit nothing
    std::string group = "sluice-redrive";  // the consumer group whose committed offsets are the progress
    std::map<std::string, std::string> producer_properties;
};

struct redrive_result {
    std::uint64_t read = 0;        // dead letters read (from the committed offset to the end at start)
    std::uint64_t sent = 0;        // sent (dry run: would be sent)
    std::uint64_t skipped = 0;     // failure_reason does not contain --reason
    std::uint64_t unreadable = 0;  // no sluice.source.topic header, or a broken envelope
    std::uint64_t failed = 0;      // sends not confirmed (then nothing is committed)
};

// Reads `topic` from the group's committed offsets (earliest when none) up to
// its end offsets as of the start; sends each matching dead letter with its
// original key, bytes and headers (without the sluice.* ones) plus
// sluice.redrive.count; once every send is confirmed, commits the offsets
// read, so the next run starts after them. Lines about what it does go to
// log. Throws std::runtime_error when the topic cannot be read.
redrive_result redrive(const redrive_options& o, std::FILE* log);

}  // namespace sluice
