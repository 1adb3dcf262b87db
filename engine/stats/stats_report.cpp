// JSON, Prometheus text and percentile tables from the live metrics.
#include "stats/stats_report.hpp"

#include "kafka/kafka_statistics.hpp"
#include "stats/process_metrics.hpp"
#include "stats/prometheus_text.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include "base/clock.hpp"
#include "base/json_writer.hpp"
#include "stats/hdr_encoding.hpp"
#include "stats/prometheus_text.hpp"

namespace sluice {

namespace {

histogram::snapshot_t merged_snapshot(const std::vector<const histogram*>& hs) {
    histogram::snapshot_t s;
    s.counts.assign(histogram::bucket_slots, 0);
    for (const histogram* h : hs) s.merge(h->snapshot());
    return s;
}

void latency_object(json_writer& w, const histogram::snapshot_t& s) {
    w.begin_object()
        .field("count", s.total)
        .field("mean", static_cast<std::uint64_t>(s.mean()))
        .field("p50", s.percentile(50))
        .field("p90", s.percentile(90))
        .field("p99", s.percentile(99))
        .field("p999", s.percentile(99.9))
        .field("max", s.max)
        .end_object();
}

std::string num(double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

// A bucket bound the way other exporters write it: plain decimal, no
// exponent ("0.0001", not "1e-04"), so `le` selectors written by hand match.
std::string bound_label(double seconds) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9f", seconds);
    std::string out(buf);
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
    return out;
}

}  // namespace

std::vector<std::string> stats_report::histogram_names() const {
    std::vector<std::string> names = {"decode"};
    for (const auto& s : m_.sink_names) {
        // Inline sinks take each event right after its decode: no queue.
        if (!m_.sinks_inline) names.push_back("queue_wait." + s);
        names.push_back("process." + s);
    }
    names.push_back("in_pipeline");
    names.push_back("end_to_end");
    names.push_back("commit");
    return names;
}

const histogram* stats_report::find(std::string_view name, std::vector<const histogram*>& merged) const {
    merged.clear();
    if (name == "decode") return &m_.source.decode;
    if (name == "commit") return &m_.commit.round_trip;
    if (name == "end_to_end" || name == "in_pipeline") {
        for (std::size_t i = 0; i <= m_.sink_names.size(); ++i) {
            const release_metrics& r = m_.releases[i == m_.sink_names.size() ? max_sinks : i];
            merged.push_back(name == "end_to_end" ? &r.end_to_end : &r.in_pipeline);
        }
        return nullptr;
    }
    for (std::size_t i = 0; i < m_.sink_names.size(); ++i) {
        if (name == "queue_wait." + m_.sink_names[i] && !m_.sinks_inline) return &m_.sinks[i].queue_wait;
        if (name == "process." + m_.sink_names[i]) return &m_.sinks[i].process;
    }
    return nullptr;
}

std::string stats_report::stats_json() const {
    std::string out;
    out.reserve(8192);
    json_writer w(out);
    const std::int64_t started = m_.started_wall_ns.load(std::memory_order_relaxed);
    w.begin_object().field("uptime_s", started ? double(wall_ns() - started) / 1e9 : 0.0)
        .field("sink_placement", m_.sinks_inline ? "inline" : "threads");
    const source_metrics& s = m_.source;
    w.key("source").begin_object()
        .field("consumed", s.consumed.get()).field("bytes", s.bytes.get())
        .field("decoded", s.decoded.get()).field("dead_lettered", s.dead_lettered.get())
        .field("consume_errors", s.consume_errors.get()).field("pauses", s.pauses.get())
        .field("resumes", s.resumes.get()).field("rebalances", s.rebalances.get())
        .field("blocked_ms", s.blocked_ns.get() / 1'000'000).field("redelivered_skipped", s.redelivered.get())
        .field("stale_dropped", s.stale_dropped.get()).field("offset_resets", s.offset_resets.get())
        .field("reset_skipped_offsets", s.reset_skipped.get()).field("reset_rewound_offsets", s.reset_rewound.get())
        .field("rebalance_duplicates", s.rebalance_duplicates.get()).field("rebalance_ms", s.rebalance_ns.get() / 1'000'000)
        .field("waits_for_slot", s.waits_for_slot.get()).field("waits_for_delivery", s.waits_for_delivery.get())
        .field("unconfirmed_events", flow_ ? flow_->in_flight_events() : 0)
        .field("unconfirmed_bytes", flow_ ? flow_->in_flight_bytes() : 0)
        .end_object();
    w.key("sinks").begin_object();
    for (std::size_t i = 0; i < m_.sink_names.size(); ++i) {
        const sink_metrics& k = m_.sinks[i];
        w.key(m_.sink_names[i]).begin_object()
            .field("processed", k.processed.get()).field("failed", k.failed.get())
            .field("retried", k.retried.get()).field("dead_lettered", k.dead_lettered.get())
            .field("deduplicated", k.deduplicated.get()).field("partial", k.partial.get())
            .field("outputs", k.outputs.get()).field("output_rebuilds", k.output_rebuilds.get())
            .field("held_for_order", k.held_for_order.get())
            .field("output_queue_full", k.output_queue_full.get())
            .field("waiting_for_resend", k.waiting_for_resend.get());
        if (flow_ && !m_.sinks_inline) w.field("ring_depth", static_cast<std::uint64_t>(flow_->sink_rings[i]->size_approx()));
        if (i < sinks_.size() && sinks_[i]) w.key("live").raw(sinks_[i]->live_json());
        w.end_object();
    }
    w.end_object();
    const commit_metrics& c = m_.commit;
    w.key("commit").begin_object()
        .field("commits", c.commits.get()).field("failures", c.commit_failures.get())
        .field("dlq_delivered", c.dlq_delivered.get()).field("dlq_retries", c.dlq_retries.get())
        .field("dlq_rebuilds", c.dlq_rebuilds.get()).field("answers_by_name", c.answers_by_name.get())
        .end_object();
    w.key("latency_ns").begin_object();
    std::vector<const histogram*> merged;
    for (const auto& name : histogram_names()) {
        const histogram* h = find(name, merged);
        w.key(name);
        latency_object(w, h ? h->snapshot() : merged_snapshot(merged));
    }
    w.end_object();
    std::uint64_t total_lag = 0, total_exposure = 0;
    w.key("partitions").begin_array();
    const std::uint32_t n = m_.partition_count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
        const partition_view& p = m_.partitions[i];
        const partition_name* name = p.name.load(std::memory_order_acquire);
        if (!name) continue;
        const bool assigned = p.assigned.load(std::memory_order_relaxed);
        const std::int64_t committed = p.committed_offset.load(std::memory_order_relaxed);
        const std::int64_t hw = p.high_watermark.load(std::memory_order_relaxed);
        const std::int64_t lag = hw >= 0 ? hw - std::max<std::int64_t>(committed, 0) : -1;
        const std::uint64_t exposure = p.exposure.load(std::memory_order_relaxed);
        if (assigned && lag > 0) total_lag += static_cast<std::uint64_t>(lag);
        if (assigned) total_exposure += exposure;
        w.begin_object()
            .field("topic", std::string_view(name->topic)).field("partition", name->partition)
            .field("assigned", assigned)
            .field("consumed", p.consumed.load(std::memory_order_relaxed))
            .field("in_flight", p.dispatched.load(std::memory_order_relaxed) - std::min(p.dispatched.load(std::memory_order_relaxed), p.done()))
            .field("commit_offset", p.commit_offset.load(std::memory_order_relaxed))
            .field("committed_offset", committed)
            .field("high_watermark", hw)
            .field("lag", lag);
        w.key("replay_exposure").begin_object()
            .field("events", exposure)
            .field("at_last_revoke", p.revoke_exposure.load(std::memory_order_relaxed))
            .field("oldest_age_ms", static_cast<std::uint64_t>(p.exposure_age_ns.load(std::memory_order_relaxed) / 1'000'000))
            .end_object();
        w.end_object();
    }
    w.end_array();
    w.key("totals").begin_object().field("lag", total_lag).field("replay_exposure", total_exposure).end_object();
    w.end_object();
    return out;
}

std::string stats_report::prometheus() const {
    std::string out;
    out.reserve(16384);
    auto counter = [&](const char* name, const char* help, std::uint64_t v, const std::string& labels = {}) {
        out += "# HELP "; out += name; out += ' '; out += help; out += "\n# TYPE "; out += name; out += " counter\n";
        out += name; out += labels; out += ' '; out += std::to_string(v); out += '\n';
    };
    const source_metrics& s = m_.source;
    counter("sluice_events_consumed_total", "Events read from Kafka.", s.consumed.get());
    counter("sluice_bytes_consumed_total", "Payload bytes read from Kafka.", s.bytes.get());
    counter("sluice_events_decoded_total", "Events decoded successfully.", s.decoded.get());
    counter("sluice_events_dead_lettered_total", "Events sent to the dead-letter topic at decode.", s.dead_lettered.get());
    counter("sluice_consume_errors_total", "Consumer errors reported by librdkafka.", s.consume_errors.get());
    counter("sluice_pauses_total", "Times the source paused its partitions (backpressure).", s.pauses.get());
    counter("sluice_redelivered_skipped_total", "Messages librdkafka delivered again within one assignment, skipped.",
            s.redelivered.get());
    counter("sluice_rebalances_total", "Rebalance callbacks.", s.rebalances.get());
    counter("sluice_stale_dropped_total", "Messages of partitions not assigned in their epoch when handled, dropped.",
            s.stale_dropped.get());
    counter("sluice_offset_resets_total", "Positions moved because the log no longer had them.", s.offset_resets.get());
    counter("sluice_reset_skipped_offsets_total", "Offsets jumped over by forward resets (gone from the log).",
            s.reset_skipped.get());
    counter("sluice_reset_rewound_offsets_total", "Offsets read again after backward resets (log truncated).",
            s.reset_rewound.get());
    out += "# HELP sluice_rebalance_seconds_total Time spent in rebalance callbacks: resolving start offsets, draining and committing revoked partitions.\n"
           "# TYPE sluice_rebalance_seconds_total counter\nsluice_rebalance_seconds_total " +
           num(double(s.rebalance_ns.get()) / 1e9) + "\n";
    counter("sluice_rebalance_duplicates_total",
            "Events consumed again after a rebalance at offsets this process had taken before.",
            s.rebalance_duplicates.get());
    append_process_metrics(out);
    kafka_statistics::instance().append_prometheus(out);
    out += "# HELP sluice_ready 1 once the group had its first rebalance and the directory is synced; 0 before and while stopping.\n"
           "# TYPE sluice_ready gauge\nsluice_ready ";
    out += ready().ok ? "1\n" : "0\n";
    out += "# HELP sluice_healthy 1 while every role thread loops.\n# TYPE sluice_healthy gauge\nsluice_healthy ";
    out += health().ok ? "1\n" : "0\n";
    counter("sluice_commits_total", "Successful offset commits.", m_.commit.commits.get());
    counter("sluice_commit_failures_total", "Failed offset commits.", m_.commit.commit_failures.get());
    counter("sluice_dlq_delivered_total", "Dead letters confirmed written.", m_.commit.dlq_delivered.get());
    counter("sluice_resumes_total", "Times the source resumed its paused partitions.", s.resumes.get());
    out += "# HELP sluice_backpressure_seconds_total Time the source waited for a free slot or ring space.\n"
           "# TYPE sluice_backpressure_seconds_total counter\nsluice_backpressure_seconds_total " +
           num(double(s.blocked_ns.get()) / 1e9) + "\n";
    out += "# HELP sluice_dispatch_waits_total Times the source found no room for the next event: no free slot (sinks behind) or the in-flight bounds reached (deliveries behind).\n"
           "# TYPE sluice_dispatch_waits_total counter\n"
           "sluice_dispatch_waits_total{reason=\"slot\"} " + std::to_string(s.waits_for_slot.get()) + "\n"
           "sluice_dispatch_waits_total{reason=\"delivery\"} " + std::to_string(s.waits_for_delivery.get()) + "\n";
    if (flow_) {
        out += "# HELP sluice_unconfirmed_events Events dispatched whose records are not all confirmed (bound: pipeline.unconfirmed.max.events).\n"
               "# TYPE sluice_unconfirmed_events gauge\nsluice_unconfirmed_events " + std::to_string(flow_->in_flight_events()) + "\n";
        out += "# HELP sluice_unconfirmed_bytes Bytes kept for unconfirmed events plus output records not yet confirmed (bound: pipeline.unconfirmed.max.bytes).\n"
               "# TYPE sluice_unconfirmed_bytes gauge\nsluice_unconfirmed_bytes " + std::to_string(flow_->in_flight_bytes()) + "\n";
    }
    out += "# HELP sluice_dead_letters_total Dead letters sent, by kind of failure (decode and sinks).\n"
           "# TYPE sluice_dead_letters_total counter\n";
    for (const auto& [kind, count] : m_.commit.dead_letter_kinds.snapshot())
        out += "sluice_dead_letters_total{reason=\"" + escape_label(kind) + "\"} " + std::to_string(count) + "\n";
    out += "# HELP sluice_consumer_info The consumer group and client id of this process.\n"
           "# TYPE sluice_consumer_info gauge\nsluice_consumer_info{group=\"" + escape_label(m_.group_id) +
           "\",client_id=\"" + escape_label(m_.client_id) + "\"} 1\n";
    out += "# HELP sluice_sink_placement Where the sinks run: threads of their own, or inline on the source thread (pipeline.sinks).\n"
           "# TYPE sluice_sink_placement gauge\nsluice_sink_placement{placement=\"" +
           std::string(m_.sinks_inline ? "inline" : "threads") + "\"} 1\n";
    if (flow_ && !m_.sinks_inline) {
        out += "# HELP sluice_ring_depth Events waiting in a sink's ring.\n# TYPE sluice_ring_depth gauge\n";
        for (std::size_t i = 0; i < m_.sink_names.size(); ++i)
            out += "sluice_ring_depth{sink=\"" + escape_label(m_.sink_names[i]) + "\"} " +
                   std::to_string(flow_->sink_rings[i]->size_approx()) + "\n";
    }
    const char* sink_counters[][2] = {{"processed", "Events finished by the sink."},
                                      {"failed", "Events whose output failed for good."},
                                      {"retried", "Output retries."},
                                      {"dead_lettered", "Events the sink sent to the dead-letter topic."},
                                      {"deduplicated", "Duplicate events dropped."},
                                      {"partial", "Events enriched or notified with unknown user ids."},
                                      {"output_rebuilds", "Output producers rebuilt after a fatal producer error."},
                                      {"held_for_order", "Records that waited behind a resend of their key."},
                                      {"output_queue_full", "Records the output's full queue refused, offered again later."}};
    for (const auto& [name, help] : sink_counters) {
        const std::string metric = std::string("sluice_sink_") + name + "_total";
        out += "# HELP " + metric + " " + help + "\n# TYPE " + metric + " counter\n";
        for (std::size_t i = 0; i < m_.sink_names.size(); ++i) {
            const sink_metrics& k = m_.sinks[i];
            std::uint64_t v = 0;
            const std::string_view n = name;
            if (n == "processed") v = k.processed.get();
            else if (n == "failed") v = k.failed.get();
            else if (n == "retried") v = k.retried.get();
            else if (n == "dead_lettered") v = k.dead_lettered.get();
            else if (n == "deduplicated") v = k.deduplicated.get();
            else if (n == "output_rebuilds") v = k.output_rebuilds.get();
            else if (n == "held_for_order") v = k.held_for_order.get();
            else if (n == "output_queue_full") v = k.output_queue_full.get();
            else v = k.partial.get();
            out += metric + "{sink=\"" + escape_label(m_.sink_names[i]) + "\"} " + std::to_string(v) + "\n";
        }
    }
    // Latency histograms in seconds, cumulative buckets ending in +Inf.
    // The bounds include the usual SLO thresholds (1, 2.5, 5, 10, 25, 50,
    // 100, 250, 500 ms, 1 s ...) so a ratio of "requests under T" reads one
    // bucket, no interpolation. Each bucket takes the histogram's buckets that
    // lie wholly at or below the bound (within 0.05% of it).
    static const double bounds_ns[] = {1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5,
                                       1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8, 2.5e8, 5e8,
                                       1e9, 2.5e9, 5e9, 1e10, 3e10, 6e10};
    out += "# HELP sluice_latency_seconds Per-stage latency.\n# TYPE sluice_latency_seconds histogram\n";
    std::vector<const histogram*> merged;
    for (const auto& name : histogram_names()) {
        const histogram* h = find(name, merged);
        const auto snap = h ? h->snapshot() : merged_snapshot(merged);
        const std::string label = "stage=\"" + escape_label(name) + "\"";
        std::size_t idx = 0;
        std::uint64_t cum = 0;
        for (double b : bounds_ns) {
            while (idx < snap.counts.size() && double(histogram::highest_of(idx)) <= b) cum += snap.counts[idx++];
            out += "sluice_latency_seconds_bucket{" + label + ",le=\"" + bound_label(b / 1e9) + "\"} " + std::to_string(cum) + "\n";
        }
        out += "sluice_latency_seconds_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(snap.total) + "\n";
        out += "sluice_latency_seconds_sum{" + label + "} " + num(double(snap.sum) / 1e9) + "\n";
        out += "sluice_latency_seconds_count{" + label + "} " + std::to_string(snap.total) + "\n";
    }
    const char* gauges[][2] = {{"sluice_partition_lag", "High watermark minus committed offset."},
                               {"sluice_partition_committed_offset", "Last offset commit confirmed by the broker."},
                               {"sluice_partition_replay_exposure_events", "Events processed but not yet committed."},
                               {"sluice_partition_replay_exposure_age_seconds", "Age of the oldest processed, uncommitted event."}};
    const std::uint32_t n = m_.partition_count.load(std::memory_order_acquire);
    std::uint32_t assigned = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        assigned += m_.partitions[i].name.load(std::memory_order_acquire) != nullptr &&
                    m_.partitions[i].assigned.load(std::memory_order_relaxed);
    out += "# HELP sluice_partitions_assigned Partitions assigned to this process now.\n"
           "# TYPE sluice_partitions_assigned gauge\nsluice_partitions_assigned " + std::to_string(assigned) + "\n";
    for (int g = 0; g < 4; ++g) {
        out += std::string("# HELP ") + gauges[g][0] + " " + gauges[g][1] + "\n# TYPE " + gauges[g][0] + " gauge\n";
        for (std::uint32_t i = 0; i < n; ++i) {
            const partition_view& p = m_.partitions[i];
            const partition_name* name = p.name.load(std::memory_order_acquire);
            if (!name || !p.assigned.load(std::memory_order_relaxed)) continue;
            const std::int64_t committed = p.committed_offset.load(std::memory_order_relaxed);
            const std::int64_t hw = p.high_watermark.load(std::memory_order_relaxed);
            double v = 0;
            if (g == 0) v = hw >= 0 ? double(hw - std::max<std::int64_t>(committed, 0)) : 0;
            else if (g == 1) v = double(committed);
            else if (g == 2) v = double(p.exposure.load(std::memory_order_relaxed));
            else v = double(p.exposure_age_ns.load(std::memory_order_relaxed)) / 1e9;
            out += std::string(gauges[g][0]) + "{topic=\"" + escape_label(name->topic) + "\",partition=\"" +
                   std::to_string(name->partition) + "\"} " + num(v) + "\n";
        }
    }
    return out;
}

std::string stats_report::hist(std::string_view name) const {
    std::vector<const histogram*> merged;
    const histogram* h = find(name, merged);
    if (!h && merged.empty()) {
        if (m_.sinks_inline && name.rfind("queue_wait.", 0) == 0)
            return "error: no histogram '" + std::string(name) +
                   "': the sinks run inline on the source thread, so no event waits in a queue";
        std::string names;
        for (const auto& n : histogram_names()) names += (names.empty() ? "" : ", ") + n;
        return "error: unknown histogram '" + std::string(name) + "' (known: " + names + ")";
    }
    const auto s = h ? h->snapshot() : merged_snapshot(merged);
    std::string out = "# " + std::string(name) + " latency in ns: count=" + std::to_string(s.total) +
                      " mean=" + std::to_string(static_cast<std::uint64_t>(s.mean())) +
                      " max=" + std::to_string(s.max) + "\n# percentile value_ns\n";
    for (double p : {0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
        char line[64];
        std::snprintf(line, sizeof line, "%.2f %llu\n", p, static_cast<unsigned long long>(p == 0.0 ? s.percentile(0.0001) : s.percentile(p)));
        out += line;
    }
    out.pop_back();
    return out;
}

std::string stats_report::buckets_json() const {
    std::string out = "{\"stages\":{";
    std::vector<const histogram*> merged;
    bool first = true;
    for (const auto& name : histogram_names()) {
        const histogram* h = find(name, merged);
        const histogram::snapshot_t snap = h ? h->snapshot() : merged_snapshot(merged);
        out += first ? "\"" : ",\"";
        first = false;
        out += name + "\":[";
        bool first_bucket = true;
        for (std::size_t i = 0; i < snap.counts.size(); ++i) {
            if (!snap.counts[i]) continue;
            if (!first_bucket) out += ',';
            first_bucket = false;
            out += std::to_string(i) + ',' + std::to_string(snap.counts[i]);
        }
        out += ']';
    }
    out += "}}";
    return out;
}

std::string stats_report::interval(interval_state& state) const {
    const std::int64_t now = wall_ns();
    const std::int64_t start = state.previous_wall_ns ? state.previous_wall_ns
                                                      : m_.started_wall_ns.load(std::memory_order_relaxed);
    std::string out;
    std::vector<const histogram*> merged;
    char times[96];
    std::snprintf(times, sizeof times, " %.3f %.3f ", double(start) / 1e9, double(now) / 1e9);
    for (const auto& name : histogram_names()) {
        const histogram* h = find(name, merged);
        histogram::snapshot_t snap = h ? h->snapshot() : merged_snapshot(merged);
        auto prev = state.previous.find(name);
        histogram::snapshot_t delta;
        if (prev == state.previous.end()) {
            delta = snap;
            prev = state.previous.emplace(name, histogram::snapshot_t{}).first;
        } else {
            delta = snap.since(prev->second);
        }
        out += name + times + std::to_string(delta.max) + ' ' + hdr_compressed_base64(delta) + '\n';
        prev->second = std::move(snap);
    }
    state.previous_wall_ns = now;
    if (!out.empty()) out.pop_back();
    return out;
}

stats_report::probe stats_report::health() const {
    if (const char* role = m_.stalled_role.load(std::memory_order_acquire))
        return {false, std::string("unhealthy: the ") + role + " thread stopped looping"};
    return {true, "ok"};
}

stats_report::probe stats_report::ready() const {
    switch (m_.life.load(std::memory_order_acquire)) {
        case pipeline_metrics::phase::ready: return {true, "ready"};
        case pipeline_metrics::phase::stopping: return {false, "not ready: shutting down"};
        case pipeline_metrics::phase::starting: break;
    }
    return {false, "not ready: waiting for the consumer group's first rebalance"};
}

std::string stats_report::help() {
    return "commands (one per line; every answer ends with an empty line):\n"
           "  stats        all counters, latencies, partitions as one line of JSON\n"
           "  metrics      Prometheus text exposition\n"
           "  hist NAME    percentile distribution of one latency histogram\n"
           "  interval     per histogram: NAME START_S END_S MAX_NS HDR, what was recorded since this\n"
           "               connection's previous interval request (HdrHistogram V2 compressed base64)\n"
           "  health       ok while every role thread loops, else which one stopped\n"
           "  ready        ready once the group had its first rebalance, else why not\n"
           "  help         this text\n"
           "HTTP on the same server: GET / (live page), GET /metrics, GET /stats, GET /hist/NAME, GET /buckets,\n"
           "GET /health, GET /ready (200 or 503)";
}

std::string stats_report::answer(std::string_view line) const {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line == "stats") return stats_json();
    if (line == "metrics") return prometheus();
    if (line == "help") return help();
    if (line == "health") return health().text;
    if (line == "ready") return ready().text;
    if (line.rfind("hist ", 0) == 0) return hist(line.substr(5));
    if (line == "hist") {
        std::string names;
        for (const auto& n : histogram_names()) names += (names.empty() ? "" : ", ") + n;
        return "error: hist needs a NAME (known: " + names + ")";
    }
    std::string shown;
    for (char c : line.substr(0, 40)) shown.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return "error: unknown command '" + shown + "' (try help)";
}

}  // namespace sluice
