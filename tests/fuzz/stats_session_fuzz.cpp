// libFuzzer target: arbitrary client bytes, in arbitrary chunks, through the
// stats protocol (line and HTTP). Answers stay within the per-client limits.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "stats/metrics.hpp"
#include "stats/stats_report.hpp"
#include "stats/stats_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static sluice::pipeline_metrics metrics;
    static const sluice::stats_report report(metrics, nullptr, {});
    static const sluice::stats_limits limits{64, 256, 1 << 20, 1000};
    if (size == 0) return 0;
    // First byte: protocol and chunk size; the rest arrives in those chunks.
    const bool http = data[0] & 1;
    const std::size_t chunk = 1 + (data[0] >> 1);
    const char* bytes = reinterpret_cast<const char*>(data + 1);
    const std::size_t n = size - 1;
    sluice::stats_session session(report, limits, http);
    std::string out;
    for (std::size_t at = 0; at < n; at += chunk) {
        const std::size_t len = at + chunk < n ? chunk : n - at;
        const auto next = session.feed({bytes + at, len}, out);
        if (out.size() > limits.max_output_bytes) std::abort();
        if (next != sluice::stats_session::next::read_more) break;
        out.clear();  // as if sent
    }
    return 0;
}
