// sluice: command line entry point (CLI11) for run, check, offsets, doctor, broker, loadgen, stats and redrive.
#include <CLI/CLI.hpp>
#include <mimalloc-new-delete.h>

#include <sys/stat.h>

#include <cstdio>
#include <exception>

#include <cstring>
#include <string>

#include "base/build_info.hpp"
#include "base/threads.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "dead_letter/redrive.hpp"
#include "exit_codes.hpp"
#include "kafka/kafka_handles.hpp"

namespace {

// The usage of `app` with a first line naming what was wrong.
int usage_error(const CLI::App& app, const std::string& problem, const std::string& parent = "") {
    std::fprintf(stderr, "sluice: %s\n\n%s", problem.c_str(), app.help(parent).c_str());
    return sluice::exit_code::usage;
}

}  // namespace

int main(int argc, char** argv) {
    namespace exit_code = sluice::exit_code;
    CLI::App app{"sluice: a low-latency Kafka pipeline appliance", "sluice"};
    app.require_subcommand(1);
    app.set_version_flag("--version,-V", [] { return sluice::build_info::get().text(); },
                         "print the version, git revision, library versions and CPU features, and exit");

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

    sluice::check_options check;
    auto* check_cmd = app.add_subcommand("check", "validate a configuration (librdkafka properties included) and print it, secrets redacted");
    check_cmd->add_option("--config,-c", check.config, "TOML configuration file")->check(CLI::ExistingFile);
    check_cmd->add_option("--set,-s", check.sets, "override a config key: key=TOML-value (repeatable)");
    check_cmd->add_flag("--connect", check.connect,
                        "also ask the brokers whether the output, dead-letter and directory topics exist (exit 78 naming the one that does not)");
    check_cmd->add_option("-X", check.property_list_arg, "'list': print every librdkafka property with its default and exit")
        ->check(CLI::IsMember({"list"}));

    sluice::offsets_options offsets;
    auto* offsets_cmd = app.add_subcommand("offsets", "show or reset a consumer group's committed offsets");
    offsets_cmd->require_subcommand(1);
    offsets_cmd->add_option("--group,-g", offsets.group, "consumer group")->required();
    offsets_cmd->add_option("--bootstrap,-b", offsets.bootstrap, "Kafka bootstrap servers (default: from --config)");
    offsets_cmd->add_option("--config,-c", offsets.config, "TOML configuration: bootstrap, topics, security properties")
        ->check(CLI::ExistingFile);
    offsets_cmd->add_option("--topics,-t", offsets.topics, "topics, comma-separated (default: kafka.topics)");
    auto* offsets_show = offsets_cmd->add_subcommand("show", "committed offset, watermarks and lag per partition");
    auto* offsets_reset = offsets_cmd->add_subcommand("reset", "commit new offsets for the group (refused while it has members)");
    offsets_reset->add_option("--to", offsets.to, "earliest, latest, an offset, or an ISO 8601 time")->required();
    offsets_reset->add_flag("--dry-run", offsets.dry_run, "print the new offsets without committing them");
    (void)offsets_show;

    sluice::doctor_options doctor;
    auto* doctor_cmd = app.add_subcommand("doctor", "check this host for what the configured thread plan needs");
    doctor_cmd->add_option("--config,-c", doctor.config, "TOML configuration file (its thread plan)")->check(CLI::ExistingFile);
    doctor_cmd->add_option("--set,-s", doctor.sets, "override a config key: key=TOML-value (repeatable)");
    doctor_cmd->add_flag("--json", doctor.json, "one JSON object: findings[] {check, status, value, advice}, warnings");

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

    // An unknown subcommand is named as such, not as an unexpected argument.
    if (argc > 1 && argv[1][0] != '-') {
        bool known = false;
        const CLI::App& all = app;
        for (const CLI::App* sub : all.get_subcommands([](const CLI::App*) { return true; }))
            known = known || sub->check_name(argv[1]);
        if (!known) return usage_error(app, std::string("unknown subcommand '") + argv[1] + "'");
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // The error names the flag; the usage is that of the subcommand used.
        const CLI::App* used = &app;
        for (const CLI::App* sub : app.get_subcommands()) used = sub;
        std::fprintf(stderr, "sluice%s%s: %s\n\n%s", used == &app ? "" : " ", used == &app ? "" : used->get_name().c_str(),
                     e.what(), used == &app ? app.help().c_str() : used->help("sluice").c_str());
        return exit_code::usage;
    }
    check.property_list = check.property_list_arg == "list";
    // Signals are taken by sigwait on the main thread only; every thread
    // started from here on (librdkafka's too) inherits the mask.
    sluice::block_shutdown_signals();
    try {
        if (*run_cmd) return sluice::run_command(run);
        if (*check_cmd) {
            if (check.config.empty() && !check.property_list)
                return usage_error(*check_cmd, "check: --config FILE is required", "sluice");
            return sluice::check_command(check);
        }
        if (*broker_cmd) return sluice::broker_command(broker);
        if (*doctor_cmd) return sluice::doctor_command(doctor);
        if (*offsets_cmd) {
            offsets.reset = offsets_reset->parsed();
            try {
                return sluice::offsets_command(offsets);
            } catch (const sluice::usage_error& e) {
                return usage_error(*offsets_cmd, std::string("offsets: ") + e.what(), "sluice");
            }
        }
        if (*load_cmd) {
            const bool profile_ends = *profile_opt || load.rate.find(',') != std::string::npos;
            if (!*count_opt && !*dur_opt && !profile_ends) {
                std::fprintf(stderr, "sluice loadgen: one of --count, --duration, steps or --profile is required\n\n%s",
                             load_cmd->help("sluice").c_str());
                return exit_code::usage;
            }
            return sluice::loadgen_command(load);
        }
        if (*stats_cmd) return sluice::stats_command(stats);
        if (*redrive_cmd) {
            if (redrive.to.empty()) {
                std::fprintf(stderr, "sluice redrive: --to must be source or a topic\n%s", redrive_cmd->help().c_str());
                return exit_code::usage;
            }
            redrive.bootstrap = sluice::resolve_bootstrap(redrive.bootstrap);
            return sluice::redrive_command(redrive);
        }
    } catch (const sluice::config_error& e) {
        std::fprintf(stderr, "sluice: %s\n", e.what());
        return exit_code::config;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice: %s\n", e.what());
        return exit_code::failure;
    }
    return exit_code::done;
}
