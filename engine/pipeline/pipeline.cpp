// Construction order and graceful shutdown of the whole pipeline.
#include "pipeline/pipeline.hpp"

#include <algorithm>
#include <charconv>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/threads.hpp"
#include "config/config_modules.hpp"
#include "decode/event_schema.hpp"
#include "sink/sink_placement.hpp"
#include "source/kafka_source.hpp"
#include "source/replay_source.hpp"

namespace sluice {

void register_pipeline_keys(config_registry& keys) {
    keys.integer("pipeline.ring.size", &settings::ring_size, 1, 1 << 22);
    keys.integer("pipeline.max.payload.bytes", &settings::max_payload_bytes, 64, 64 << 20);
    keys.add({"pipeline.unconfirmed.max.events", [](config_reader& r, settings& s) {
                  const std::string key = "pipeline.unconfirmed.max.events";
                  if (!r.find(key)) {
                      s.unconfirmed_max_events = std::max<std::size_t>(16384, s.ring_size);
                      return;
                  }
                  r.integer(key, s.unconfirmed_max_events, 1, 1 << 24);
                  if (s.unconfirmed_max_events < s.ring_size)
                      r.fail(key, "must be at least pipeline.ring.size (" + std::to_string(s.ring_size) +
                                      "): every slot's event is in flight");
              }});
    keys.integer("pipeline.unconfirmed.max.bytes", &settings::unconfirmed_max_bytes, 1 << 20, std::size_t(1) << 40);
    keys.check([](config_reader& r, settings& s) {
        // The bound keeps every producer's local queue from filling: it must
        // stay below the smallest queue (queue.buffering.max.kbytes).
        std::size_t queue_kb = 1048576;  // sluice's producer default
        const auto q = s.producer_properties.find("queue.buffering.max.kbytes");
        if (q != s.producer_properties.end()) {
            std::size_t v = 0;
            const auto [end, ec] = std::from_chars(q->second.data(), q->second.data() + q->second.size(), v);
            if (ec == std::errc() && end == q->second.data() + q->second.size()) queue_kb = v;
        }
        // Not given: half the producers' queue when that is smaller.
        if (!r.find("pipeline.unconfirmed.max.bytes"))
            s.unconfirmed_max_bytes = std::min(s.unconfirmed_max_bytes, std::max<std::size_t>(queue_kb * 1024 / 2, 1 << 20));
        if (s.unconfirmed_max_bytes >= queue_kb * 1024)
            r.fail("pipeline.unconfirmed.max.bytes", "must be below the producers' queue.buffering.max.kbytes (" +
                                                         std::to_string(queue_kb) + " KiB = " +
                                                         std::to_string(queue_kb * 1024) + " bytes)");
    });
    keys.integer("pipeline.pause.after.ms", &settings::pause_after_ms, 0, 600000);
    keys.integer("pipeline.revoke.drain.timeout.ms", &settings::revoke_drain_timeout_ms, 0, 3600000);
    keys.integer("shutdown.timeout.ms", &settings::shutdown_timeout_ms, 100, 3600000);
    keys.integer("pipeline.wake.after.events", &settings::wake_after_events, 1, 1 << 22);
    keys.add({"pipeline.sinks", [](config_reader& r, settings& s) {
                  std::string sinks = "auto";
                  r.str("pipeline.sinks", sinks);
                  if (sinks == "threads") s.sinks = sink_placement::threads;
                  else if (sinks == "inline") s.sinks = sink_placement::inline_;
                  else if (sinks == "auto") s.sinks = sink_placement::automatic;
                  else r.fail("pipeline.sinks", "expected \"threads\", \"inline\" or \"auto\" (got '" + sinks + "')");
              }});
}

pipeline::pipeline(const settings& cfg, const sink_factory& make_sink, const event_schema& schema) : cfg_(cfg) {
    if (cfg_.bootstrap_servers == "embedded") {
        broker_ = std::make_unique<embedded_broker>(cfg_.embedded_brokers, cfg_.broker_topics());
        bootstrap_ = broker_->bootstraps();
    } else {
        bootstrap_ = cfg_.bootstrap_servers;
    }
    metrics_ = std::make_unique<pipeline_metrics>();
    metrics_->sink_names = cfg_.sink_names();
    types_ = std::make_unique<type_registry>(schema.known_types());
    try {
        routes_ = std::make_unique<routing_table>(metrics_->sink_names, cfg_.routes(), *types_);
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("config: ") + e.what());
    }

    const std::size_t nsinks = metrics_->sink_names.size();
    const std::size_t cpus = usable_cpus();
    const bool sinks_inline =
        resolve_sink_placement(cfg_.sinks, cpus, event_roles(nsinks)) == sink_placement::inline_;
    metrics_->sinks_inline = sinks_inline;
    if (cfg_.sinks == sink_placement::automatic)
        logf(log_level::info, "pipeline", "sinks run %s (pipeline.sinks = \"auto\": %zu usable CPUs for %zu roles)",
             sinks_inline ? "inline on the source thread" : "on threads of their own", cpus, event_roles(nsinks));
    if (sinks_inline)
        for (const auto& name : metrics_->sink_names) {
            const thread_settings& t = cfg_.threads.at(name);
            if (!t.cpus.empty() || t.wait != wait_kind::park)
                logf(log_level::warning, "pipeline", "threads.%s.* not applied: the sinks run inline on the source thread",
                     name.c_str());
        }
    std::vector<thread_settings> waits;
    for (const auto& name : metrics_->sink_names) waits.push_back(cfg_.threads.at(name));
    waits.push_back(cfg_.threads.at("commit"));
    waits.push_back(cfg_.threads.at("source"));
    flow_ = std::make_unique<flow>(cfg_.ring_size, nsinks, waits, cfg_.unconfirmed_max_events);
    flow_->live.store(cfg_);

    dlq_ = std::make_unique<dead_letter_producer>(bootstrap_, cfg_.dlq_suffix, cfg_.producer_properties, metrics_->commit,
                                                  cfg_.dead_letter_format);
    const std::size_t ack_capacity = flow_->in_flight.size() * 2;
    for (std::size_t i = 0; i < nsinks; ++i)
        channels_.push_back(std::make_unique<ack_channel>(ack_capacity, metrics_->releases[i], flow_->commit_waiter,
                                                          flow_->source_waiter, &flow_->released[i]));
    commit_channel_ = std::make_unique<ack_channel>(ack_capacity, metrics_->releases[max_sinks], flow_->commit_waiter,
                                                    flow_->source_waiter, &flow_->released[nsinks]);
    for (std::size_t i = 0; i < nsinks; ++i) {
        contexts_.push_back(std::make_unique<sink_context>(sink_context{
            *channels_[i], metrics_->sinks[i], *types_, *dlq_, metrics_->partitions.get(), &flow_->released[i]}));
        sinks_.push_back(make_sink(metrics_->sink_names[i], cfg_, bootstrap_, *flow_, *contexts_[i]));
        if (!sinks_inline) runners_.push_back(std::make_unique<sink_runner>(*flow_, i, *sinks_[i], *contexts_[i]));
    }
    if (sinks_inline) {
        std::vector<sink*> sinks;
        std::vector<sink_context*> contexts;
        for (std::size_t i = 0; i < nsinks; ++i) {
            sinks.push_back(sinks_[i].get());
            contexts.push_back(contexts_[i].get());
        }
        inline_ = std::make_unique<inline_sinks>(*flow_, std::move(sinks), std::move(contexts));
        flow_->sinks_inline = inline_.get();  // before the source's dispatcher reads it
    }
    rd_kafka_t* consumer = nullptr;  // a replay has none: its commits are local
    if (cfg_.replay_file.empty()) {
        auto kafka = std::make_unique<kafka_source>(cfg_, bootstrap_, *flow_, *metrics_, *types_, schema, *routes_, *dlq_);
        consumer = kafka->consumer();
        source_ = std::move(kafka);
        metrics_->group_id = cfg_.group_id;
        char id[256];
        std::size_t id_size = sizeof id;
        if (rd_kafka_conf_get(rd_kafka_conf(consumer), "client.id", id, &id_size) == RD_KAFKA_CONF_OK)
            metrics_->client_id = id;
    } else {
        source_ = std::make_unique<replay_source>(cfg_, *flow_, *metrics_, *types_, schema, *routes_, *dlq_);
    }
    std::vector<ack_channel*> chans;
    for (auto& c : channels_) chans.push_back(c.get());
    committer_ = std::make_unique<committer>(cfg_, *flow_, *metrics_, consumer, *dlq_, chans, *commit_channel_);
    std::vector<const sink*> sink_ptrs;
    for (auto& s : sinks_) sink_ptrs.push_back(s.get());
    report_ = std::make_unique<stats_report>(*metrics_, flow_.get(), sink_ptrs);
    stats_limits limits;
    limits.max_clients = cfg_.stats_max_clients;
    server_ = std::make_unique<stats_server>(*report_, cfg_.stats_socket, cfg_.stats_socket_mode, cfg_.stats_http, limits);
}

pipeline::~pipeline() {
    if (running_) stop();
}

std::vector<pipeline::heartbeat> pipeline::heartbeats() const {
    std::vector<heartbeat> h;
    h.push_back({role_names_[0].c_str(), [m = metrics_.get()] { return m->source.loops.get(); }});
    h.push_back({role_names_[1].c_str(), [m = metrics_.get()] { return m->commit.loops.get(); }});
    h.push_back({role_names_[2].c_str(), [s = server_.get()] { return s->loops(); }});
    for (std::size_t i = 0; i < runners_.size(); ++i)
        h.push_back({role_names_[3 + i].c_str(), [m = metrics_.get(), i] { return m->sinks[i].loops.get(); }});
    return h;
}

bool pipeline::update_readiness() noexcept {
    using phase = pipeline_metrics::phase;
    if (metrics_->life.load(std::memory_order_relaxed) != phase::starting) return metrics_->life.load() == phase::ready;
    const bool ready = !cfg_.replay_file.empty() || metrics_->source.rebalances.get() > 0;
    if (ready) metrics_->life.store(phase::ready, std::memory_order_release);
    return ready;
}

void pipeline::reload(const settings& next) {
    try {
        routes_->propose(next.routes());
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("config: ") + e.what());
    }
    // cfg_ keeps the start-up values: other threads hold references to it.
    flow_->live.store(next);
    for (auto& s : sinks_) s->reload(next);
}

bool pipeline::reloadable(const std::string& key) const { return cfg_.keys && cfg_.keys->reloadable(key); }

void pipeline::start() {
    role_names_ = {"source", "commit", "stats"};
    if (!inline_)
        for (const auto& name : metrics_->sink_names) role_names_.push_back(name);
    metrics_->started_wall_ns.store(wall_ns(), std::memory_order_relaxed);
    commit_thread_ = start_role_thread("commit", cfg_.threads.at("commit").cpus, [this] { committer_->run(); });
    for (std::size_t i = 0; i < runners_.size(); ++i) {
        const std::string& name = metrics_->sink_names[i];
        sink_threads_.push_back(start_role_thread("sink-" + name.substr(0, 10), cfg_.threads.at(name).cpus,
                                                  [r = runners_[i].get()] { r->run(); }));
    }
    stats_thread_ = start_role_thread("stats", cfg_.threads.at("stats").cpus, [this] { server_->run(stop_stats_); });
    source_thread_ = start_role_thread("source", cfg_.threads.at("source").cpus, [this] {
        source_->run();
        if (inline_) inline_->finish();  // the sinks' part of stop(), step 2
    });
    running_ = true;
}

void pipeline::stop() {
    if (!running_) return;
    running_ = false;
    flow_->shutdown_deadline_ns.store(mono_ns() + std::int64_t(cfg_.shutdown_timeout_ms) * 1'000'000,
                                      std::memory_order_release);
    metrics_->life.store(pipeline_metrics::phase::stopping, std::memory_order_release);
    // 1. The source stops consuming and closes: its revoke drains in-flight
    //    events through the still-running sinks and commits synchronously.
    flow_->stop_source.store(true, std::memory_order_release);
    flow_->source_waiter.wake();  // a source that ended early serves inline sinks until now
    source_thread_.join();
    // 2. Sinks finish what is left (nothing, normally) and their deliveries.
    flow_->stop_sinks.store(true, std::memory_order_release);
    for (auto& w : flow_->sink_waiters) w->wake();
    for (auto& t : sink_threads_) t.join();
    // 3. The commit thread settles dead letters and outstanding results.
    flow_->stop_commit.store(true, std::memory_order_release);
    flow_->commit_waiter.wake();
    commit_thread_.join();
    stop_stats_.store(true, std::memory_order_release);
    stats_thread_.join();
}

}  // namespace sluice
