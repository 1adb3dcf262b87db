// The io_uring file output: a record is delivered only once its write and, for
// a regular file, a datasync after it completed; a failing sync withholds it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kafka_test_support.hpp"
#include "sink/output.hpp"

using namespace sluice;

namespace {

struct outcome {
    std::uint64_t token;
    std::string record;
    std::string error;  // "" when delivered
};

struct recorder final : delivery_handler {
    std::vector<outcome> got;
    void delivered(std::uint64_t token, std::string_view, std::string_view record, const char* error) noexcept override {
        got.push_back({token, std::string(record), error ? error : ""});
    }
};

std::vector<outcome> write_three(const std::string& path) {
    recorder r;
    auto out = make_file_output(path, r);
    out->write({}, "one", 1);
    out->write({}, "two", 2);
    out->flush();
    out->write({}, "three", 3);
    for (int i = 0; i < 2000 && r.got.size() < 3; ++i) {
        if (!out->poll()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        out->flush();
    }
    EXPECT_EQ(out->in_flight(), 0u);
    return r.got;
}

}  // namespace

TEST(FileOutput, RegularFileRecordsAreDeliveredAfterTheirSyncInOrder) {
    const std::string path = sluice::testing::temp_dir() + "/out.jsonl";
    const std::vector<outcome> got = write_three(path);
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[i].token, i + 1);
        EXPECT_EQ(got[i].error, "");
    }
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "one\ntwo\nthree\n");
}

// /proc/self/comm is a regular file whose writes succeed and whose datasync
// fails (EINVAL): the records were written but not made durable, so none is
// reported delivered; each carries the sync's error.
TEST(FileOutput, AFailingSyncWithholdsDelivery) {
    const std::vector<outcome> got = write_three("/proc/self/comm");
    ASSERT_EQ(got.size(), 3u);
    for (const outcome& o : got) EXPECT_EQ(o.error, "fdatasync: Invalid argument") << o.record;
}

// Nothing to sync on /dev/null or a FIFO: delivered once written.
TEST(FileOutput, DevNullAndFifosAreNotSynced) {
    for (const outcome& o : write_three("/dev/null")) EXPECT_EQ(o.error, "") << o.record;
    const std::string fifo = sluice::testing::temp_dir() + "/pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0);
    const std::vector<outcome> got = write_three(fifo);
    ASSERT_EQ(got.size(), 3u);
    for (const outcome& o : got) EXPECT_EQ(o.error, "") << o.record;
    char buf[64] = {};
    EXPECT_EQ(::read(reader, buf, sizeof buf), 14);
    EXPECT_STREQ(buf, "one\ntwo\nthree\n");
    ::close(reader);
}
