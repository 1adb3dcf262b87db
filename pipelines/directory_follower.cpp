// GlobalKTable-style bootstrap and follow of the user.created topic.
#include "directory_follower.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "config/config_registry.hpp"
#include "decode/event_schema.hpp"
#include "seed_config.hpp"
#include "seed_fields.hpp"
#include "seed_schema.hpp"
#include "source/line_reader.hpp"

namespace sluice {

void register_directory_keys(config_registry& keys) {
    keys.text("sinks.enrichment.directory.topic", &seed_sink_settings::directory_topic);
    keys.text("sinks.enrichment.directory.bootstrap.file", &seed_sink_settings::directory_bootstrap_file);
    keys.integer("sinks.enrichment.directory.sync.timeout.ms", &seed_sink_settings::directory_sync_timeout_ms, 0, 3600000);
}

directory_follower::directory_follower(const std::string& bootstrap, const std::string& topic,
                                       const std::vector<std::string>& files, std::uint32_t sync_timeout_ms,
                                       const std::map<std::string, std::string>& props, user_directory& dir)
    : dir_(dir),
      types_(seed_schema().known_types()),
      decoder_(seed_schema(), types_, max_line),
      user_created_(types_.find("user.created")) {
    for (const auto& f : files) load_file(f);
    if (topic.empty()) return;  // no directory topic: the bootstrap file only

    kafka_config conf;
    conf.set_all(consumer_defaults(props));
    conf.set_all(props);
    // Assigned outside any group from the beginning: a position the log no
    // longer has (retention) restarts from its start, as a table rebuild would.
    conf.set("auto.offset.reset", "earliest");
    conf.set("bootstrap.servers", bootstrap);
    conf.set("group.id", "sluice-directory");  // required by the client; never joined or committed
    rk_ = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk_.get());

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(sync_timeout_ms);
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err || !md || md->topic_cnt != 1 || md->topics[0].err) {
        if (md) rd_kafka_metadata_destroy(md);
        throw std::runtime_error("user directory: cannot read metadata of topic " + topic + ": " +
                                 rd_kafka_err2str(err ? err : (md && md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)));
    }
    partition_list parts(rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt));
    std::vector<std::int64_t> ends;
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
        const std::int32_t p = md->topics[0].partitions[i].id;
        rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        std::int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), p, &lo, &hi, 10000) != 0)
            throw std::runtime_error("user directory: cannot read end offsets of " + topic);
        ends.push_back(hi);
    }
    rd_kafka_metadata_destroy(md);
    if (rd_kafka_assign(rk_.get(), parts.get()) != 0) throw std::runtime_error("user directory: assign failed");

    // Read to the end offsets recorded above.
    std::vector<std::int64_t> next(ends.size(), 0);
    auto behind = [&] {
        for (std::size_t i = 0; i < ends.size(); ++i)
            if (next[i] < ends[i]) return true;
        return false;
    };
    while (behind()) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("user directory: topic " + topic + " not read to its end within " +
                                     std::to_string(sync_timeout_ms) + " ms");
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
        if (!m) continue;
        if (!m->err) {
            apply(m->payload, m->len);
            for (int i = 0; i < parts->cnt; ++i)
                if (parts->elems[i].partition == m->partition) next[static_cast<std::size_t>(i)] = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
}

std::unique_ptr<directory_follower> directory_follower::of(const settings& cfg, const std::string& bootstrap,
                                                          user_directory& dir) {
    const seed_sink_settings& own = seed_sink_settings_of(cfg);
    std::vector<std::string> files;
    if (!own.directory_bootstrap_file.empty()) files.push_back(own.directory_bootstrap_file);
    if (cfg.replay_file.empty())
        return std::make_unique<directory_follower>(bootstrap, own.directory_topic, files,
                                                    own.directory_sync_timeout_ms, cfg.kafka_properties, dir);
    // A pipe can be read only once: by the replay.
    struct stat st {};
    if (::stat(cfg.replay_file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(cfg.replay_file);
    return std::make_unique<directory_follower>(bootstrap, "", files, own.directory_sync_timeout_ms,
                                                cfg.kafka_properties, dir);
}

directory_follower::~directory_follower() {
    if (rk_) rd_kafka_consumer_close(rk_.get());
}

void directory_follower::apply(const void* data, std::size_t len) {
    if (!data) return;
    event_.assign(data, len);
    const event_slot& slot = event_.slot;
    const decode_result r = decoder_.decode(event_.slot);
    const seed_fields& e = seed_fields_of(slot);
    if (!r || slot.ev.type != user_created_ || e.user_id.empty()) {
        ++rejected_;
        return;
    }
    dir_.upsert(slot.str(e.user_id), slot.str(e.email), slot.str(e.username));
    ++loaded_;
}

void directory_follower::load_file(const std::string& path) {
    std::unique_ptr<line_reader> in;
    try {
        in = std::make_unique<line_reader>(path, max_line);
    } catch (const std::system_error& e) {
        throw std::runtime_error("user directory: cannot read bootstrap file " + path + ": " + e.code().message());
    }
    std::string_view line;
    std::size_t full_len = 0;
    for (line_reader::status st; (st = in->next(line, full_len)) != line_reader::status::end;) {
        if (st == line_reader::status::again) continue;  // a FIFO, not written yet
        // A user.created event names its type, literally or with an escape:
        // other lines are passed over undecoded. A replay file is read so by
        // each joining sink before the replay starts.
        if (line.find("user.created") == std::string_view::npos && line.find('\\') == std::string_view::npos)
            continue;
        apply(line.data(), line.size());
    }
}

std::size_t directory_follower::poll() {
    if (!rk_) return 0;
    // One message per poll, as the source reads (the batch call of 2.0.2 is
    // not trusted around pauses and seeks, though this consumer has none).
    std::size_t applied = 0;
    for (int i = 0; i < 64; ++i) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 0);
        if (!m) break;
        if (!m->err) {
            apply(m->payload, m->len);
            ++applied;
        }
        rd_kafka_message_destroy(m);
    }
    return applied;
}

}  // namespace sluice
