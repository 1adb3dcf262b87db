// Samples a consumer group's committed offsets during the soak, each sample
// followed by the sizes of the output files, for soak_audit to check that no
// offset was committed before its records were written.
//
//   soak_sampler BOOTSTRAP GROUP TOPIC[,TOPIC...] OUTPUT_DIR SAMPLES_FILE [INTERVAL_MS]
//
// Runs until SIGTERM/SIGINT. A sample is "S <unix ms>", one "C TOPIC PARTITION
// OFFSET" per partition with a commit, one "F NAME BYTES" per *.jsonl file in
// OUTPUT_DIR, then "E". The committed offsets are read first and the file sizes
// after: output files only grow, so whatever was written when the broker held
// the commit is within the sizes recorded.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kafka/kafka_handles.hpp"
#include "kafka_test_support.hpp"

using namespace sluice;

namespace {

volatile sig_atomic_t stopping = 0;
void on_signal(int) { stopping = 1; }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6 || argc > 7) {
        std::fprintf(stderr, "usage: soak_sampler BOOTSTRAP GROUP TOPIC[,TOPIC...] OUTPUT_DIR SAMPLES_FILE [INTERVAL_MS]\n");
        return 64;
    }
    const std::string bootstrap = argv[1], group = argv[2], dir = argv[4];
    const std::vector<std::string> topics = testing::comma_list(argv[3]);
    const int interval_ms = argc == 7 ? std::atoi(argv[6]) : 200;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    try {
        kafka_config conf;
        conf.set("bootstrap.servers", bootstrap).set("group.id", group).set("enable.auto.commit", "false");
        conf.set("log_level", "0");
        kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
        std::ofstream out(argv[5], std::ios::app);
        if (!out) throw std::runtime_error(std::string("cannot write ") + argv[5]);

        // Partition counts once; the soak never adds partitions.
        partition_list all(rd_kafka_topic_partition_list_new(64));
        for (const std::string& t : topics) {
            const rd_kafka_metadata_t* md = nullptr;
            rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), t.c_str(), nullptr);
            rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
            for (int attempt = 0; attempt < 10 && !stopping && err; ++attempt)
                err = rd_kafka_metadata(rk.get(), 0, rkt, &md, 3000);
            rd_kafka_topic_destroy(rkt);
            if (err) throw std::runtime_error("metadata of " + t + ": " + rd_kafka_err2str(err));
            for (int i = 0; i < md->topics[0].partition_cnt; ++i)
                rd_kafka_topic_partition_list_add(all.get(), t.c_str(), md->topics[0].partitions[i].id);
            rd_kafka_metadata_destroy(md);
        }

        std::size_t samples = 0, failed = 0;
        while (!stopping) {
            partition_list list(rd_kafka_topic_partition_list_copy(all.get()));
            const std::int64_t at = now_ms();
            if (rd_kafka_committed(rk.get(), list.get(), 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                ++failed;  // a broker fault: skip this sample
            } else {
                std::string s = "S " + std::to_string(at) + "\n";
                for (int i = 0; i < list->cnt; ++i) {
                    const auto& e = list->elems[i];
                    if (e.err || e.offset < 0) continue;
                    s += "C " + std::string(e.topic) + " " + std::to_string(e.partition) + " " +
                         std::to_string(e.offset) + "\n";
                }
                std::error_code ec;
                for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
                    if (f.path().extension() != ".jsonl") continue;
                    struct stat st {};
                    if (::stat(f.path().c_str(), &st) == 0)
                        s += "F " + f.path().filename().string() + " " + std::to_string(st.st_size) + "\n";
                }
                s += "E\n";
                out << s << std::flush;
                ++samples;
            }
            for (int waited = 0; waited < interval_ms && !stopping; waited += 20)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::fprintf(stderr, "soak_sampler: %zu samples, %zu failed queries\n", samples, failed);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "soak_sampler: %s\n", e.what());
        return 1;
    }
    return 0;
}
