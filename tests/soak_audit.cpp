// Audits every offset of the source topics after a soak run: processed at
// least once (an enrichment record in some member's output file, or a
// confirmed dead letter), none skipped, never committed before its records
// were written, never processed again after a commit covered it, and the
// group's committed offsets never moving backwards.
//
//   soak_audit BOOTSTRAP GROUP TOPIC[,TOPIC...] OUTPUT_DIR SAMPLES_FILE [--committed-to-end] [--exits FILE]
//
// Reads the *.enriched.jsonl files of OUTPUT_DIR (every event type is routed
// to enrichment in the soak, and each record names its source topic,
// partition and offset) and the samples of soak_sampler. Prints a summary
// and one "VIOLATION" line per finding (the first few of each kind); exits 1
// on any violation, 2 when it cannot audit at all.
//
// --exits lists "MEMBER HOW EXIT_CODE UNIX_MS" of the members that exited.
// A member that exited 0 although, at the first sample after its exit, the
// group's commit was below offsets it had been the last to process gets a
// WARNING (exit 75 was due if it still owned the partition; from the outside
// a partition taken from it by a rebalance whose commit failed looks the
// same, so this does not fail the audit).
#include <simdjson.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/kafka_handles.hpp"
#include "kafka_test_support.hpp"

using namespace sluice;

namespace {

using tp = std::pair<std::string, int>;
constexpr int never = INT_MAX;  // a record visible after the last sample, or an offset never seen

std::string name(const tp& p) { return p.first + "/" + std::to_string(p.second); }

struct sample {
    std::int64_t at_ms = 0;
    std::map<tp, std::int64_t> committed;
    std::map<std::string, std::int64_t> sizes;
};

struct sighting {
    int file = 0;
    int visible = never;  // first sample whose file size covers the whole line
};

struct partition_audit {
    std::int64_t lo = 0, hi = 0;
    std::vector<std::vector<sighting>> seen;  // per offset - lo
    std::vector<bool> dead_lettered;
};

// Violations, printed as found (up to a few per kind) and counted.
class findings {
public:
    void add(const std::string& kind, const std::string& text) {
        if (count_[kind]++ < 5) std::printf("VIOLATION %s: %s\n", kind.c_str(), text.c_str());
    }
    std::size_t total() const {
        std::size_t n = 0;
        for (const auto& [k, c] : count_) n += c;
        return n;
    }
    void summary() const {
        for (const auto& [k, c] : count_)
            std::printf("  %-22s %zu%s\n", k.c_str(), c, c > 5 ? " (first 5 shown)" : "");
    }

private:
    std::map<std::string, std::size_t> count_;
};

std::vector<sample> read_samples(const std::string& path) {
    std::vector<sample> out;
    std::ifstream in(path);
    std::string line;
    sample cur;
    bool open = false;
    while (std::getline(in, line)) {
        std::istringstream w(line);
        std::string kind;
        w >> kind;
        if (kind == "S") {
            cur = sample{};
            w >> cur.at_ms;
            open = true;
        } else if (kind == "C" && open) {
            std::string topic;
            int partition = 0;
            std::int64_t offset = 0;
            if (w >> topic >> partition >> offset) cur.committed[{topic, partition}] = offset;
        } else if (kind == "F" && open) {
            std::string file;
            std::int64_t size = 0;
            if (w >> file >> size) cur.sizes[file] = size;
        } else if (kind == "E" && open) {
            out.push_back(std::move(cur));
            open = false;  // a sample cut short by a kill has no E and is dropped
        }
    }
    return out;
}

std::string range_text(std::int64_t first, std::int64_t last) {
    return first == last ? std::to_string(first) : std::to_string(first) + ".." + std::to_string(last);
}

}  // namespace

int main(int argc, char** argv) {
    bool committed_to_end = false, usage = argc < 6;
    std::string exits_file;
    for (int i = 6; i < argc && !usage; ++i) {
        const std::string arg = argv[i];
        if (arg == "--committed-to-end") committed_to_end = true;
        else if (arg == "--exits" && i + 1 < argc) exits_file = argv[++i];
        else usage = true;
    }
    if (usage) {
        std::fprintf(stderr, "usage: soak_audit BOOTSTRAP GROUP TOPIC[,TOPIC...] OUTPUT_DIR SAMPLES_FILE "
                             "[--committed-to-end] [--exits FILE]\n");
        return 64;
    }
    const std::string bootstrap = argv[1], group = argv[2], dir = argv[4];
    const std::vector<std::string> topics = testing::comma_list(argv[3]);
    findings bad;

    std::map<tp, partition_audit> parts;
    std::map<tp, std::int64_t> final_committed;
    try {
        kafka_config conf;
        conf.set("bootstrap.servers", bootstrap).set("group.id", group + "-audit").set("log_level", "0");
        kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
        for (const auto& [p, end] : testing::end_offsets(bootstrap, topics)) {
            partition_audit& a = parts[p];
            if (rd_kafka_query_watermark_offsets(rk.get(), p.first.c_str(), p.second, &a.lo, &a.hi, 10000))
                throw std::runtime_error("watermarks of " + name(p));
            a.seen.resize(static_cast<std::size_t>(a.hi - a.lo));
            a.dead_lettered.resize(static_cast<std::size_t>(a.hi - a.lo));
            if (a.lo > 0)
                bad.add("trimmed", name(p) + ": offsets below " + std::to_string(a.lo) +
                                       " were dropped by the broker's retention (too much load for the run)");
        }
        final_committed = testing::committed_offsets(bootstrap, group, topics);
        // Dead letters count as processed: their write was confirmed before the ack.
        for (const std::string& t : topics)
            for (const testing::record& r : testing::read_all(bootstrap, t + ".dlq")) {
                const auto& h = r.headers;
                if (!h.count("sluice.source.topic") || !h.count("sluice.source.partition") ||
                    !h.count("sluice.source.offset"))
                    continue;
                const tp p{h.at("sluice.source.topic"), std::stoi(h.at("sluice.source.partition"))};
                const std::int64_t o = std::stoll(h.at("sluice.source.offset"));
                const auto it = parts.find(p);
                if (it != parts.end() && o >= it->second.lo && o < it->second.hi)
                    it->second.dead_lettered[static_cast<std::size_t>(o - it->second.lo)] = true;
            }
    } catch (const std::exception& e) {
        std::printf("soak audit: cannot read the broker: %s\n", e.what());
        return 2;
    }

    const std::vector<sample> samples = read_samples(argv[5]);
    const int nsamples = static_cast<int>(samples.size());

    // Output files: every complete line of every member's enrichment output.
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(dir, ec))
        if (f.path().filename().string().ends_with(".enriched.jsonl")) files.push_back(f.path().filename().string());
    std::sort(files.begin(), files.end());
    std::size_t records = 0, torn = 0, unreadable = 0;
    simdjson::dom::parser parser;
    for (int fi = 0; fi < static_cast<int>(files.size()); ++fi) {
        std::ifstream in(dir + "/" + files[fi], std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // Sizes of this file per sample, to find when each line became visible.
        std::vector<std::int64_t> sizes(samples.size(), 0);
        for (int k = 0; k < nsamples; ++k) {
            const auto it = samples[k].sizes.find(files[fi]);
            sizes[k] = it == samples[k].sizes.end() ? 0 : it->second;
        }
        std::size_t pos = 0;
        while (pos < text.size()) {
            const std::size_t nl = text.find('\n', pos);
            if (nl == std::string::npos) {
                ++torn;  // the last line of a member killed mid-write
                break;
            }
            const std::int64_t end = static_cast<std::int64_t>(nl + 1);
            simdjson::dom::element doc;
            std::string_view topic;
            std::int64_t partition = 0, offset = 0;
            if (parser.parse(text.data() + pos, nl - pos).get(doc) || doc["source"]["topic"].get(topic) ||
                doc["source"]["partition"].get(partition) || doc["source"]["offset"].get(offset)) {
                ++unreadable;
                bad.add("unreadable-record", files[fi] + " at byte " + std::to_string(pos));
                pos = nl + 1;
                continue;
            }
            pos = nl + 1;
            ++records;
            const tp p{std::string(topic), static_cast<int>(partition)};
            const auto it = parts.find(p);
            if (it == parts.end() || offset < it->second.lo || offset >= it->second.hi) {
                bad.add("phantom", files[fi] + " has a record of " + name(p) + "@" + std::to_string(offset) +
                                       ", which the broker does not hold");
                continue;
            }
            // Sizes only grow, so the first sample that covers the line is found by bisection.
            const auto first = std::lower_bound(sizes.begin(), sizes.end(), end);
            const int visible = first == sizes.end() ? never : static_cast<int>(first - sizes.begin());
            it->second.seen[static_cast<std::size_t>(offset - it->second.lo)].push_back({fi, visible});
        }
    }

    std::size_t offsets = 0, processed = 0, dead = 0, duplicates = 0, checks = 0, replays = 0;
    struct episode {
        std::string file;
        tp part;
        std::size_t duplicates = 0;
        std::int64_t first = INT64_MAX, last = -1;
        int first_visible = never;  // of its first duplicate
        // At the hand-over (the sample before its first duplicate): the
        // group's commit and the highest offset processed before it.
        std::int64_t committed = -1, processed = -1;
    };
    std::map<std::pair<int, tp>, episode> episodes;
    for (auto& part : parts) {
        const tp& p = part.first;  // named, not a structured binding: the lambda below captures it
        partition_audit& a = part.second;
        const std::size_t n = a.seen.size();
        offsets += n;
        // Earliest visibility per offset; dead letters count from the start.
        std::vector<int> earliest(n, never);
        std::int64_t missing_from = -1;
        auto report_missing = [&](std::int64_t upto) {
            if (missing_from >= 0)
                bad.add("missing", name(p) + " offsets " + range_text(missing_from, upto) + " (" +
                                       std::to_string(upto - missing_from + 1) + ") never reached an output");
            missing_from = -1;
        };
        for (std::size_t i = 0; i < n; ++i) {
            auto& s = a.seen[i];
            std::sort(s.begin(), s.end(), [](const sighting& x, const sighting& y) { return x.visible < y.visible; });
            const std::int64_t o = a.lo + static_cast<std::int64_t>(i);
            if (a.dead_lettered[i]) {
                earliest[i] = 0;
                ++dead;
            } else if (!s.empty()) {
                earliest[i] = s.front().visible;
            }
            if (s.empty() && !a.dead_lettered[i]) {
                if (missing_from < 0) missing_from = o;
            } else {
                report_missing(o - 1);
                ++processed;
            }
            if (s.size() > 1) {
                duplicates += s.size() - 1;
                for (std::size_t j = 1; j < s.size(); ++j) {
                    episode& e = episodes[{s[j].file, p}];
                    e.file = files[static_cast<std::size_t>(s[j].file)];
                    e.part = p;
                    ++e.duplicates;
                    e.first = std::min(e.first, o);
                    e.last = std::max(e.last, o);
                    e.first_visible = std::min(e.first_visible, s[j].visible);
                }
            }
        }
        report_missing(a.hi - 1);

        // prefix_max[i]: the latest first-visibility among offsets lo..lo+i.
        std::vector<int> prefix_max(n);
        for (std::size_t i = 0; i < n; ++i) prefix_max[i] = std::max(earliest[i], i ? prefix_max[i - 1] : 0);
        std::int64_t prev = -1, max_committed = -1;
        std::vector<std::int64_t> max_committed_at(samples.size(), -1);
        for (int k = 0; k < nsamples; ++k) {
            const auto it = samples[k].committed.find(p);
            if (it != samples[k].committed.end()) {
                const std::int64_t c = it->second;
                ++checks;
                if (c > a.hi) {
                    bad.add("commit-beyond-end", name(p) + " committed " + std::to_string(c) + " at sample " +
                                                     std::to_string(k) + ", end offset " + std::to_string(a.hi));
                } else if (c > a.lo && prefix_max[static_cast<std::size_t>(c - a.lo - 1)] > k) {
                    std::size_t i = 0;
                    while (earliest[i] <= k) ++i;
                    bad.add("commit-ahead", name(p) + " committed " + std::to_string(c) + " at sample " +
                                                std::to_string(k) + " (" + std::to_string(samples[k].at_ms) +
                                                " ms) before offset " + std::to_string(a.lo + std::int64_t(i)) +
                                                (earliest[i] == never ? " reached any output"
                                                                      : " reached an output (sample " +
                                                                            std::to_string(earliest[i]) + ")"));
                }
                if (c < prev)
                    bad.add("commit-backwards", name(p) + " committed offset moved back from " + std::to_string(prev) +
                                                    " to " + std::to_string(c) + " at sample " + std::to_string(k));
                prev = c;
                max_committed = std::max(max_committed, c);
            }
            max_committed_at[static_cast<std::size_t>(k)] = max_committed;
        }
        // The replay exposure each replay of this partition started from.
        for (auto& [key, e] : episodes) {
            if (key.second != p) continue;
            const int before = e.first_visible == never ? nsamples - 1 : e.first_visible - 1;
            e.committed = before >= 0 ? max_committed_at[static_cast<std::size_t>(before)] : -1;
            for (std::size_t i = 0; i < n; ++i)
                for (const sighting& s : a.seen[i])
                    if (s.visible < e.first_visible)
                        e.processed = std::max(e.processed, a.lo + static_cast<std::int64_t>(i));
        }
        // A second processing written after a commit that covered the offset:
        // more duplicates than the replay exposure allows.
        for (std::size_t i = 0; i < n; ++i) {
            const auto& s = a.seen[i];
            const std::int64_t o = a.lo + static_cast<std::int64_t>(i);
            for (std::size_t j = 1; j < s.size(); ++j) {
                const int before = s[j].visible == never ? nsamples - 1 : s[j].visible - 1;
                if (before >= 0 && max_committed_at[static_cast<std::size_t>(before)] > o) {
                    ++replays;
                    bad.add("replayed-after-commit",
                            name(p) + "@" + std::to_string(o) + " processed again in " +
                                files[static_cast<std::size_t>(s[j].file)] + " after offset " +
                                std::to_string(max_committed_at[static_cast<std::size_t>(before)]) +
                                " had been committed (sample " + std::to_string(before) + ")");
                }
            }
        }
        if (committed_to_end && a.hi > a.lo) {
            const auto it = final_committed.find(p);
            const std::int64_t c = it == final_committed.end() ? -1 : it->second;
            if (c != a.hi)
                bad.add("final-commit", name(p) + " committed " + std::to_string(c) + " at the end, end offset " +
                                            std::to_string(a.hi));
        }
    }

    // Members that exited 0 while the group's commit stayed below what they processed last.
    std::size_t warnings = 0;
    if (!exits_file.empty()) {
        std::ifstream in(exits_file);
        std::string member, how;
        int rc = 0;
        std::int64_t exit_ms = 0;
        while (in >> member >> how >> rc >> exit_ms) {
            if (rc != 0) continue;
            const auto fit = std::find(files.begin(), files.end(), member + ".enriched.jsonl");
            if (fit == files.end()) continue;
            const int fi = static_cast<int>(fit - files.begin());
            int after = 0;  // first sample after the exit
            while (after < nsamples && samples[static_cast<std::size_t>(after)].at_ms <= exit_ms) ++after;
            for (const auto& [p, a] : parts) {
                std::int64_t mine_max = -1;
                int mine_last = -1;
                for (std::size_t i = 0; i < a.seen.size(); ++i)
                    for (const sighting& s : a.seen[i])
                        if (s.file == fi) {
                            mine_max = a.lo + static_cast<std::int64_t>(i);
                            mine_last = std::max(mine_last, s.visible);
                        }
                if (mine_max < 0) continue;
                bool others_later = false;
                for (const auto& v : a.seen)
                    for (const sighting& s : v)
                        others_later |= s.file != fi && s.visible > mine_last && s.visible <= after;
                if (others_later) continue;
                std::int64_t c = -1;
                if (after < nsamples) {
                    const auto it = samples[static_cast<std::size_t>(after)].committed.find(p);
                    c = it == samples[static_cast<std::size_t>(after)].committed.end() ? -1 : it->second;
                } else {
                    const auto it = final_committed.find(p);
                    c = it == final_committed.end() ? -1 : it->second;
                }
                if (c <= mine_max) {
                    if (warnings++ < 8)
                        std::printf("WARNING exit-0-exposed: %s (%s) exited 0 but %s stayed committed at %s after it; "
                                    "it had processed up to %s (%s offsets exposed)\n",
                                    member.c_str(), how.c_str(), name(p).c_str(), std::to_string(c).c_str(),
                                    std::to_string(mine_max).c_str(),
                                    std::to_string(mine_max + 1 - std::max<std::int64_t>(c, a.lo)).c_str());
                }
            }
        }
    }

    std::printf("soak audit: %zu partitions, %zu offsets, %zu processed (%zu dead-lettered), %zu enrichment records "
                "in %zu files, %zu duplicates\n",
                parts.size(), offsets, processed, dead, records, files.size(), duplicates);
    std::printf("  %d commit samples, %zu partition commits checked against the outputs; %zu torn last lines "
                "(members killed mid-write)\n",
                nsamples, checks, torn);
    std::vector<episode> by_size;
    for (const auto& [k, e] : episodes) by_size.push_back(e);
    std::sort(by_size.begin(), by_size.end(),
              [](const episode& x, const episode& y) { return x.duplicates > y.duplicates; });
    std::printf("  replays (a member processing offsets processed before), largest first: %zu\n", by_size.size());
    for (std::size_t i = 0; i < by_size.size() && i < 8; ++i) {
        const episode& e = by_size[i];
        const std::int64_t from = std::max<std::int64_t>(e.committed, parts.at(e.part).lo);
        std::printf("    %s %s: %zu duplicates within offsets %s; at the hand-over committed %lld, processed up "
                    "to %lld: exposure %lld\n",
                    e.file.c_str(), name(e.part).c_str(), e.duplicates, range_text(e.first, e.last).c_str(),
                    static_cast<long long>(e.committed), static_cast<long long>(e.processed),
                    static_cast<long long>(std::max<std::int64_t>(0, e.processed + 1 - from)));
    }
    if (warnings) std::printf("  exit-0-exposed warnings: %zu\n", warnings);
    if (nsamples == 0) bad.add("no-samples", "no committed offsets were sampled: the commit check did not run");
    if (bad.total()) {
        std::printf("soak audit: %zu violations\n", bad.total());
        bad.summary();
        return 1;
    }
    std::printf("soak audit: no violations\n");
    return 0;
}
