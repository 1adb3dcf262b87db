// sluice: command line entry point (CLI11) for run, broker, loadgen, stats and redrive.
#include <CLI/CLI.hpp>
#include <mimalloc-new-delete.h>

#include <sys/stat.h>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "kafka_handles.hpp"
#include "redrive.hpp"
#include "threads.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sluice: a low-latency Kafka pipeline appliance"};
    app.require_subcommand(1);
    // A bad argument prints the error and the usage, not just a hint.
    app.failure_message(CLI::FailureMessage::help);

    sluice::run_options run;
    auto* run_cmd = app.add_subcommand("run", "run the pipeline");
    run_cmd->add_option("--config,-c", run.config, "TOML configuration file")->check(CLI::ExistingFile);
    run_cmd->add_option("--set,-s", run.sets, "override a config key: key=TOML-value (repeatable)");
    run_cmd->add_option("--duration,-d", run.duration_s, "stop after SECONDS (default: until SIGINT/SIGTERM)")
        ->check(CLI::NonNegativeNumber);
    run_cmd->add_flag("--until-caught-up", run.until_caught_up,
                      "exit 0 once every assigned partition is processed and committed up to the end offset it had when assigned");
    run_cmd->add_option("--source", run.source,
                        "kafka (the consumer group, default) or replay:FILE (one payload per line, e.g. kcat -C -f '%s\\n'; "
                        "offsets are line numbers; exits at the end of the file)");

    sluice::broker_options broker;
    auto* broker_cmd = app.add_subcommand("broker", "run the embedded Kafka broker (librdkafka mock cluster)");
    broker_cmd->add_option("--brokers", broker.brokers, "number of brokers")->check(CLI::Range(1, 16));
    broker_cmd->add_option("--topics", broker.topics, "extra or overriding topics: name:partitions,...");
    broker_cmd->add_flag("!--no-default-topics", broker.defaults, "create only the --topics given");
    broker_cmd->add_option("--control", broker.control,
                           "read fault commands (fail-commits, rtt, leader, down, up, ...; help lists them) from this "
                           "FIFO (created if missing) or - for stdin; one reply line each on stdout")
        ->check(CLI::Validator(
            [](std::string& path) {
                struct stat st {};
                if (path == "-" || ::stat(path.c_str(), &st) != 0 || S_ISFIFO(st.st_mode)) return std::string();
                return path + " exists and is not a FIFO";
            },
            "FIFO|-"));

    sluice::loadgen_options load;
    auto* load_cmd = app.add_subcommand("loadgen", "produce realistic seed events on a schedule (rate, steps, ramp or profile)");
    load_cmd->add_option("--bootstrap,-b", load.bootstrap, "Kafka bootstrap servers")->required();
    auto* rate_opt = load_cmd->add_option("--rate,-r", load.rate,
                         "events per second: N (0 = as fast as possible), steps A,B,C (each --step-duration), "
                         "or a ramp A..B over --duration");
    load_cmd->add_option("--step-duration", load.step_duration_s, "seconds per step of --rate A,B,C")
        ->check(CLI::PositiveNumber);
    auto* profile_opt = load_cmd->add_option("--profile", load.profile,
                         "file of 'SECONDS RATE' lines: the rate is linear between points, a repeated SECONDS is a step")
        ->check(CLI::ExistingFile);
    profile_opt->excludes(rate_opt);
    auto* count_opt = load_cmd->add_option("--count,-n", load.count, "number of events");
    auto* dur_opt = load_cmd->add_option("--duration,-d", load.duration_s, "seconds to run")->check(CLI::PositiveNumber);
    load_cmd->add_option("--seed", load.seed, "random seed (ids and mix are deterministic per seed)");
    load_cmd->add_option("--topic", load.topic, "send every event to this topic instead of its own (benchmarks)");
    load_cmd->add_option("-X,--property", load.properties,
                         "librdkafka producer property key=value (repeatable), e.g. -X linger.ms=0")
        ->check(CLI::Validator(
            [](std::string& kv) {
                const auto eq = kv.find('=');
                return eq == std::string::npos || eq == 0 ? std::string("expected key=value, got '" + kv + "'")
                                                          : std::string();
            },
            "key=value"));

    sluice::stats_options stats;
    auto* stats_cmd = app.add_subcommand("stats", "show the stats of a running sluice");
    stats_cmd->add_option("--socket", stats.socket, "stats socket path");
    stats_cmd->add_flag("--watch,-w", stats.watch, "refresh every interval until Ctrl-C");
    stats_cmd->add_option("--interval", stats.interval_s, "seconds between refreshes")->check(CLI::PositiveNumber);
    stats_cmd->add_option("--raw", stats.raw, "send one protocol command (stats, metrics, hist NAME, help) and print the answer");
    stats_cmd->add_option("--hdr-log", stats.hdr_log,
                          "append every stage's histogram each --interval to FILE as an HdrHistogram interval log "
                          "(V2 compressed; the first interval holds everything since sluice started) until Ctrl-C");

    sluice::redrive_options redrive;
    auto* redrive_cmd = app.add_subcommand("redrive", "send dead letters (either format) back to their source topic");
    redrive_cmd->add_option("--bootstrap,-b", redrive.bootstrap, "Kafka bootstrap servers")->required();
    redrive_cmd->add_option("--topic,-t", redrive.topic, "the dead-letter topic, e.g. task.updated.dlq")->required();
    redrive_cmd->add_option("--reason", redrive.reason, "only dead letters whose failure reason contains TEXT");
    redrive_cmd->add_option("--to", redrive.to, "source (each one's source topic and partition, default) or a topic");
    redrive_cmd->add_flag("--dry-run", redrive.dry_run, "print what would be sent; send and commit nothing");
    redrive_cmd->add_option("--group", redrive.group, "consumer group that keeps the progress (default sluice-redrive)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // Signals are taken by sigwait on the main thread only; every thread
    // started from here on (librdkafka's too) inherits the mask.
    sluice::block_shutdown_signals();
    try {
        if (*run_cmd) return sluice::run_command(run);
        if (*broker_cmd) return sluice::broker_command(broker);
        if (*load_cmd) {
            const bool profile_ends = *profile_opt || load.rate.find(',') != std::string::npos;
            if (!*count_opt && !*dur_opt && !profile_ends) {
                std::fprintf(stderr, "sluice loadgen: one of --count, --duration, steps or --profile is required\n%s",
                             load_cmd->help().c_str());
                return 64;
            }
            return sluice::loadgen_command(load);
        }
        if (*stats_cmd) return sluice::stats_command(stats);
        if (*redrive_cmd) {
            if (redrive.to.empty()) {
                std::fprintf(stderr, "sluice redrive: --to must be source or a topic\n%s", redrive_cmd->help().c_str());
                return 64;
            }
            redrive.bootstrap = sluice::resolve_bootstrap(redrive.bootstrap);
            return sluice::redrive_command(redrive);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice: %s\n", e.what());
        return 1;
    }
    return 0;
}
