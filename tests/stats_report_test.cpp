// stats_report: the Prometheus exposition's bucket bounds, labels and info metrics.
#include "stats/stats_report.hpp"

#include <gtest/gtest.h>

#include <string>

using sluice::pipeline_metrics;
using sluice::stats_report;

namespace {

std::string line_of(const std::string& text, const std::string& prefix) {
    const auto at = text.find("\n" + prefix);
    if (at == std::string::npos) return "(no line starting " + prefix + ")";
    const auto end = text.find('\n', at + 1);
    return text.substr(at + 1, end - at - 1);
}

}  // namespace

TEST(StatsReport, BucketBoundsHoldTheSloThresholdsWrittenInDecimal) {
    pipeline_metrics m;
    // 1 below 100 us, 2 just under 1 ms, 3 just over 1 ms, 4 at 50 ms, 5 over 500 ms.
    m.source.decode.record(90'000);
    for (int i = 0; i < 2; ++i) m.source.decode.record(990'000);
    for (int i = 0; i < 3; ++i) m.source.decode.record(1'010'000);
    for (int i = 0; i < 4; ++i) m.source.decode.record(49'000'000);
    for (int i = 0; i < 5; ++i) m.source.decode.record(600'000'000);
    const std::string text = stats_report(m, nullptr, {}).prometheus();
    const std::string b = "sluice_latency_seconds_bucket{stage=\"decode\",le=\"";
    EXPECT_EQ(line_of(text, b + "0.000001\""), b + "0.000001\"} 0");
    EXPECT_EQ(line_of(text, b + "0.0001\""), b + "0.0001\"} 1");
    EXPECT_EQ(line_of(text, b + "0.001\""), b + "0.001\"} 3");
    EXPECT_EQ(line_of(text, b + "0.005\""), b + "0.005\"} 6");
    EXPECT_EQ(line_of(text, b + "0.01\""), b + "0.01\"} 6");
    EXPECT_EQ(line_of(text, b + "0.05\""), b + "0.05\"} 10");
    EXPECT_EQ(line_of(text, b + "0.1\""), b + "0.1\"} 10");
    EXPECT_EQ(line_of(text, b + "0.25\""), b + "0.25\"} 10");
    EXPECT_EQ(line_of(text, b + "0.5\""), b + "0.5\"} 10");
    EXPECT_EQ(line_of(text, b + "1\""), b + "1\"} 15");
    EXPECT_EQ(line_of(text, b + "60\""), b + "60\"} 15");
    EXPECT_EQ(line_of(text, b + "+Inf\""), b + "+Inf\"} 15");
    EXPECT_EQ(text.find("e-0"), std::string::npos) << "an exponent in the exposition";
}

TEST(StatsReport, ConsumerInfo) {
    pipeline_metrics m;
    m.group_id = "billing \"eu\"";
    m.client_id = "rdkafka";
    const std::string text = stats_report(m, nullptr, {}).prometheus();
    EXPECT_EQ(line_of(text, "sluice_consumer_info{"), "sluice_consumer_info{group=\"billing \\\"eu\\\"\",client_id=\"rdkafka\"} 1");
}

TEST(StatsReport, DeadLettersCountedByKindOfFailure) {
    pipeline_metrics m;
    m.commit.dead_letter_kinds.add("missing field: event_id");
    m.commit.dead_letter_kinds.add("missing field: timestamp");
    m.commit.dead_letter_kinds.add("invalid json: TAPE_ERROR");
    const std::string text = stats_report(m, nullptr, {}).prometheus();
    EXPECT_EQ(line_of(text, "sluice_dead_letters_total{reason=\"missing field\"}"),
              "sluice_dead_letters_total{reason=\"missing field\"} 2");
    EXPECT_EQ(line_of(text, "sluice_dead_letters_total{reason=\"invalid json\"}"),
              "sluice_dead_letters_total{reason=\"invalid json\"} 1");
    for (int i = 0; i < 100; ++i) m.commit.dead_letter_kinds.add("kind " + std::to_string(i));
    EXPECT_EQ(m.commit.dead_letter_kinds.snapshot().size(), sluice::dead_letter_reasons::max_kinds + 1);
}

TEST(StatsReport, BucketsAreTheNonEmptyCumulativeCounts) {
    pipeline_metrics m;
    m.source.decode.record(100);
    m.source.decode.record(100);
    m.source.decode.record(5000);
    const std::string json = stats_report(m, nullptr, {}).buckets_json();
    const std::string want = "\"decode\":[100,2," + std::to_string(sluice::histogram::index_of(5000)) + ",1]";
    EXPECT_NE(json.find(want), std::string::npos) << json;
    EXPECT_EQ(json.rfind("{\"stages\":{", 0), 0u);
    EXPECT_NE(json.find("\"end_to_end\":[]"), std::string::npos) << json;
}

TEST(StatsReport, IntervalsFollowEachOtherPerConnection) {
    pipeline_metrics m;
    m.started_wall_ns = 1'000'000'000;
    stats_report report(m, nullptr, {});
    sluice::interval_state a, b;
    m.source.decode.record(7000);
    const std::string first = report.interval(a);
    // NAME START END MAX HDR; the first interval starts when the pipeline did.
    EXPECT_EQ(first.rfind("decode 1.000 ", 0), 0u) << first;
    EXPECT_NE(first.find(" 7000 HISTF"), std::string::npos) << first.substr(0, 200);
    m.source.decode.record(9000);
    const std::string second = report.interval(a);
    const std::string first_end = first.substr(13, first.find(' ', 13) - 13);
    EXPECT_EQ(second.rfind("decode " + first_end + " ", 0), 0u) << first_end << " / " << second.substr(0, 80);
    // Only what came since: its max is 9000.
    EXPECT_NE(second.find(" 9000 HISTF"), std::string::npos) << second.substr(0, 200);
    m.source.decode.record(8000);
    // Below the overall max: the top of 8000's bucket (the interval knows buckets only).
    EXPECT_NE(report.interval(a).find(" " + std::to_string(sluice::histogram::highest_of(sluice::histogram::index_of(8000))) + " HISTF"),
              std::string::npos);
    // Another connection starts from the beginning.
    EXPECT_NE(report.interval(b).find(" 9000 HISTF"), std::string::npos);
}

// Inline sinks take each event right after its decode: no ring and no queue
// wait to report. Threads: both, per sink. The placement itself is reported
// either way.
class StatsReportPlacement : public ::testing::TestWithParam<bool> {};
TEST_P(StatsReportPlacement, ReportsThePlacementAndOnlyItsStages) {
    const bool inline_sinks = GetParam();
    pipeline_metrics m;
    m.sink_names = {"enrichment", "analytics"};
    m.sinks_inline = inline_sinks;
    m.sinks[0].queue_wait.record(5000);
    m.sinks[0].process.record(7000);
    std::vector<sluice::thread_settings> waits(4);
    sluice::flow f(16, 2, waits);
    const stats_report report(m, &f, {});

    const std::string json = report.stats_json();
    EXPECT_NE(json.find(inline_sinks ? "\"sink_placement\":\"inline\"" : "\"sink_placement\":\"threads\""),
              std::string::npos) << json.substr(0, 200);
    EXPECT_NE(json.find("\"process.enrichment\":"), std::string::npos) << "process time is reported either way";
    if (inline_sinks) {
        EXPECT_EQ(json.find("queue_wait."), std::string::npos);
        EXPECT_EQ(json.find("\"ring_depth\""), std::string::npos);
    } else {
        EXPECT_NE(json.find("\"queue_wait.enrichment\":"), std::string::npos);
        EXPECT_NE(json.find("\"queue_wait.analytics\":"), std::string::npos);
        EXPECT_NE(json.find("\"ring_depth\":0"), std::string::npos);
    }

    const std::string text = report.prometheus();
    EXPECT_EQ(line_of(text, "sluice_sink_placement{"),
              inline_sinks ? "sluice_sink_placement{placement=\"inline\"} 1" : "sluice_sink_placement{placement=\"threads\"} 1");
    EXPECT_EQ(text.find("sluice_sink_placement{placement=\"" + std::string(inline_sinks ? "threads" : "inline")),
              std::string::npos);
    EXPECT_NE(text.find("stage=\"process.enrichment\""), std::string::npos);
    if (inline_sinks) {
        EXPECT_EQ(text.find("sluice_ring_depth"), std::string::npos);
        EXPECT_EQ(text.find("queue_wait."), std::string::npos);
    } else {
        EXPECT_EQ(line_of(text, "sluice_ring_depth{sink=\"analytics\"}"), "sluice_ring_depth{sink=\"analytics\"} 0");
        EXPECT_NE(text.find("stage=\"queue_wait.enrichment\""), std::string::npos);
    }

    const std::string hist = report.answer("hist queue_wait.enrichment");
    if (inline_sinks)
        EXPECT_EQ(hist, "error: no histogram 'queue_wait.enrichment': the sinks run inline on the source thread, "
                        "so no event waits in a queue") << hist;
    else
        EXPECT_EQ(hist.rfind("# queue_wait.enrichment latency in ns: count=1 ", 0), 0u) << hist;
}
INSTANTIATE_TEST_SUITE_P(Placements, StatsReportPlacement, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Inline" : "Threads"; });
