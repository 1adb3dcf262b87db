// Fixed-work kernels for the instruction-count mode of scripts/perf-regress.sh:
// run under callgrind, whose counts do not depend on machine load.
// Usage: instructions KERNEL   (none, decode, ring, histogram, watermark, json, dedup)
#include <cstdio>
#include <cstring>
#include <string>

#include "base/json_writer.hpp"
#include "commit/commit_tracker.hpp"
#include "corpus.hpp"
#include "decode/decoder.hpp"
#include "decode/event_schema.hpp"
#include "dedup_window.hpp"
#include "ring/spsc_ring.hpp"
#include "seed_schema.hpp"
#include "stats/histogram.hpp"

using namespace sluice;

namespace {

// Items each kernel processes: instructions per item = (kernel - none) / items.
constexpr std::uint64_t items = 200000;

std::uint64_t decode_kernel() {
    const auto events = bench::corpus(2000);
    type_registry types(seed_schema().known_types());
    decoder dec(seed_schema(), types, 1 << 20);
    standalone_event decoded;
    event_slot& slot = decoded.slot;
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < items; ++i) {
        const std::string& e = events[i % events.size()];
        decoded.assign(e.data(), e.size());
        ok += static_cast<bool>(dec.decode(slot));
    }
    return ok;
}

std::uint64_t ring_kernel() {
    spsc_ring<std::uint64_t> ring(1024);
    std::uint64_t sum = 0, buf[32];
    for (std::uint64_t i = 0; i < items; i += 32) {
        for (std::uint64_t k = 0; k < 32; ++k) sum += ring.try_push(i + k);
        sum += ring.pop_batch(buf, 32);
    }
    return sum;
}

std::uint64_t histogram_kernel() {
    histogram h;
    std::uint64_t v = 1000;
    for (std::uint64_t i = 0; i < items; ++i) {
        h.record(v);
        v = (v * 6364136223846793005ull + 1442695040888963407ull) >> 44;
    }
    return h.snapshot().total;
}

std::uint64_t watermark_kernel() {
    partition_watermark w(4096);
    for (std::uint64_t s = 0; s < items; s += 2) {
        w.dispatched(s, std::int64_t(s));
        w.dispatched(s + 1, std::int64_t(s + 1));
        w.done(s + 1);
        w.done(s);
    }
    return static_cast<std::uint64_t>(w.commit_offset());
}

std::uint64_t json_kernel() {
    std::string out;
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < items; ++i) {
        out.clear();
        json_writer w(out);
        w.begin_object().field("notification_id", std::string_view("task.updated:1042:17:1735689600000000000:23"))
            .field("recipient_id", std::string_view("1000023")).field("email", std::string_view("user1000023@example.com"))
            .field("title", std::string_view("Task \"1042\"")).field("offset", std::int64_t(i)).end_object();
        total += out.size();
    }
    return total;
}

std::uint64_t dedup_kernel() {
    dedup_window d(65536);
    std::uint64_t h = 1, dup = 0;
    for (std::uint64_t i = 0; i < items; ++i) {
        dup += d.seen_or_insert(h % 100000 + 1);
        h = h * 6364136223846793005ull + 1442695040888963407ull;
    }
    return dup;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string k = argc > 1 ? argv[1] : "";
    std::uint64_t r = 0;
    if (k == "none") r = 0;
    else if (k == "decode") r = decode_kernel();
    else if (k == "ring") r = ring_kernel();
    else if (k == "histogram") r = histogram_kernel();
    else if (k == "watermark") r = watermark_kernel();
    else if (k == "json") r = json_kernel();
    else if (k == "dedup") r = dedup_kernel();
    else {
        std::fprintf(stderr, "usage: instructions none|decode|ring|histogram|watermark|json|dedup\n");
        return 2;
    }
    std::printf("%s %llu items (result %llu)\n", k.c_str(), static_cast<unsigned long long>(items),
                static_cast<unsigned long long>(r));
    return 0;
}
