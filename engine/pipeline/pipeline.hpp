// Wires the roles together: embedded broker, source, sinks, commit thread, stats server.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commit/committer.hpp"
#include "config/config.hpp"
#include "dead_letter/dead_letter.hpp"
#include "kafka/embedded_broker.hpp"
#include "pipeline/flow.hpp"
#include "pipeline/routing.hpp"
#include "sink/inline_sinks.hpp"
#include "sink/sink.hpp"
#include "sink/sink_runner.hpp"
#include "source/event_source.hpp"
#include "stats/metrics.hpp"
#include "stats/stats_report.hpp"
#include "stats/stats_server.hpp"

namespace sluice {

// Builds a sink by name (one of settings::sink_names(), the domain's).
using sink_factory = std::function<std::unique_ptr<sink>(const std::string& name, const settings& cfg,
                                                         const std::string& bootstrap, flow& f,
                                                         sink_context& ctx)>;

class event_schema;

// Design: constructed, started and stopped on the control (main) thread.
// Construction does everything that can fail with a clear error (broker,
// sockets, directory bootstrap, subscription) before any thread starts.
class pipeline {
public:
    // schema: how the events are decoded (outlives the pipeline).
    pipeline(const settings& cfg, const sink_factory& make_sink, const event_schema& schema);
    ~pipeline();

    void start();
    // Graceful: stop consuming, drain the rings, final synchronous commit,
    // all within settings::shutdown_timeout_ms.
    void stop();
    // After stop(): a line per partition whose events the final commit did
    // not cover (empty: everything done was committed).
    const std::vector<std::string>& unconfirmed() const noexcept { return source_->unconfirmed(); }

    const std::string& bootstrap() const noexcept { return bootstrap_; }
    pipeline_metrics& metrics() noexcept { return *metrics_; }
    const stats_report& report() const noexcept { return *report_; }
    const type_registry& types() const noexcept { return *types_; }
    event_source& source() noexcept { return *source_; }
    // The source cannot go on (a replay file that cannot be read).
    bool source_failed() const noexcept { return flow_->source_failed.load(std::memory_order_acquire); }
    // Any thread: commit what is done now instead of at the next interval.
    void request_commit() noexcept {
        flow_->commit_requested.store(true, std::memory_order_release);
        flow_->commit_waiter.wake();
    }

    // A role thread's loop counter: it keeps rising while the thread loops,
    // whether or not there is work (every loop wakes at least every 100 ms).
    struct heartbeat {
        const char* role;  // lives as long as the pipeline
        std::function<std::uint64_t()> loops;
    };
    std::vector<heartbeat> heartbeats() const;
    // Control thread: ready once the group has had its first rebalance, even
    // with no partition assigned (a replay: once started); the directory is
    // synced before the constructor returns. Publishes the phase for /ready.
    bool update_readiness() noexcept;
    // Control thread: takes from next what a running pipeline can change:
    // routing (the source applies it between events), commit batching,
    // retry (from the next retry), and what each sink takes (sink::reload).
    // Validates first; throws config_error and changes nothing if the
    // routing is invalid.
    void reload(const settings& next);
    // Whether a settings key (as effective_config() names it) is one reload()
    // takes: those its module registered as reloadable.
    bool reloadable(const std::string& key) const;

private:
    settings cfg_;
    std::unique_ptr<embedded_broker> broker_;
    std::string bootstrap_;
    std::unique_ptr<pipeline_metrics> metrics_;
    std::unique_ptr<type_registry> types_;
    std::unique_ptr<routing_table> routes_;
    std::unique_ptr<flow> flow_;
    std::unique_ptr<dead_letter_producer> dlq_;
    std::vector<std::unique_ptr<ack_channel>> channels_;
    std::unique_ptr<ack_channel> commit_channel_;
    std::vector<std::unique_ptr<sink_context>> contexts_;
    std::vector<std::unique_ptr<sink>> sinks_;
    std::vector<std::unique_ptr<sink_runner>> runners_;  // pipeline.sinks = threads
    std::unique_ptr<inline_sinks> inline_;                // pipeline.sinks = inline
    std::unique_ptr<event_source> source_;
    std::unique_ptr<committer> committer_;
    std::unique_ptr<stats_report> report_;
    std::unique_ptr<stats_server> server_;
    std::atomic<bool> stop_stats_{false};
    std::thread source_thread_, commit_thread_, stats_thread_;
    std::vector<std::thread> sink_threads_;
    bool running_ = false;
    std::vector<std::string> role_names_;
};

}  // namespace sluice
