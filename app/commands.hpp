// The subcommands of the sluice binary.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

struct run_options {
    std::string config;
    std::vector<std::string> sets;
    double duration_s = -1;  // <0: from config
    bool until_caught_up = false;
    std::string source;  // "kafka" or "replay:FILE"; empty: from config
};
int run_command(const run_options& o);

struct broker_options {
    int brokers = 1;
    std::string topics;  // name:partitions,...
    bool defaults = true;
    std::string control;  // fault commands from this FIFO, or "-" for stdin; empty: none
};
int broker_command(const broker_options& o);

struct loadgen_options {
    std::string bootstrap;
    std::string rate = "1000";   // N, A,B,C (steps), A..B (ramp over duration); 0 = as fast as possible
    double step_duration_s = 0;  // seconds per step of A,B,C
    std::string profile;         // file of "SECONDS RATE" lines, instead of rate
    std::uint64_t count = 0;
    double duration_s = 0;
    std::uint64_t seed = 1;
    std::string topic;  // all events to this topic instead of their own
    std::vector<std::string> properties;  // librdkafka producer key=value, over the defaults
};
int loadgen_command(const loadgen_options& o);

struct stats_options {
    std::string socket = "/tmp/sluice.sock";
    bool watch = false;
    double interval_s = 1;
    std::string raw;  // send this command and print the answer as is
    std::string hdr_log;  // write HdrHistogram interval logs here every interval
};
int stats_command(const stats_options& o);

struct check_options {
    std::string config;
    std::vector<std::string> sets;
    std::string property_list_arg;  // -X VALUE; only "list"
    bool property_list = false;     // -X list: librdkafka's properties
    bool connect = false;           // also ask the brokers whether the topics exist
};
// Throws config_error (exit 78) for a bad configuration.
int check_command(const check_options& o);

// A bad command line found after parsing: main prints it with the usage, exit 64.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct offsets_options {
    std::string group;
    std::string bootstrap;  // empty: from --config
    std::string config;
    std::string topics;     // a,b,...; empty: kafka.topics of the configuration
    bool reset = false;     // else show
    std::string to;         // earliest, latest, OFFSET or an ISO 8601 time
    bool dry_run = false;
};
int offsets_command(const offsets_options& o);

struct doctor_options {
    std::string config;
    std::vector<std::string> sets;
    bool json = false;
};
// 0: nothing to change; 1: warnings (each says what to change).
int doctor_command(const doctor_options& o);
struct redrive_options;
int redrive_command(const redrive_options& o);

// Shared: wait for SIGINT/SIGTERM (blocked in all threads) up to timeout_ms;
// true if one arrived.
bool wait_for_shutdown_signal(int timeout_ms);
// The same, also taking SIGHUP: the signal that arrived, or 0.
int wait_for_signal(int timeout_ms);

}  // namespace sluice
