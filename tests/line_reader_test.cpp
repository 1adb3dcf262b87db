// The replay file reader: lines across io_uring blocks, odd endings, pipes, errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "source/line_reader.hpp"

using sluice::line_reader;

namespace {

std::string temp_path(const char* name) {
    return "/tmp/sluice-line-reader-" + std::to_string(getpid()) + "-" + name;
}

void write_file(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

struct read_line {
    std::string text;
    std::size_t full_len;
};

std::vector<read_line> read_all(line_reader& r) {
    std::vector<read_line> out;
    std::string_view line;
    std::size_t full = 0;
    for (;;) {
        const auto st = r.next(line, full);
        if (st == line_reader::status::end) return out;
        if (st == line_reader::status::line) out.push_back({std::string(line), full});
    }
}

// Lines of every length from 0 to 3000 bytes, then lines longer than a block:
// many lines straddle the 1 MiB block boundaries.
std::vector<std::string> varied_lines() {
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < 3000; ++i) lines.push_back(std::string(i, static_cast<char>('a' + i % 26)));
    lines.push_back(std::string((1 << 20) + 17, 'x'));
    lines.push_back("");
    lines.push_back(std::string(3 << 20, 'y'));
    lines.push_back("last");
    return lines;
}

}  // namespace

TEST(LineReader, ReadsEveryLineAcrossBlocksInOrder) {
    const auto lines = varied_lines();
    std::string data;
    for (const auto& l : lines) data += l + "\n";
    const std::string path = temp_path("varied");
    write_file(path, data);
    line_reader r(path, 8 << 20);
    EXPECT_TRUE(r.regular_file());
    const auto got = read_all(r);
    ASSERT_EQ(got.size(), lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        ASSERT_EQ(got[i].text, lines[i]) << "line " << i + 1;
        ASSERT_EQ(got[i].full_len, lines[i].size());
    }
    EXPECT_EQ(r.bytes_read(), data.size());
    std::remove(path.c_str());
}

TEST(LineReader, LastLineWithoutNewlineAndEmptyLinesCount) {
    const std::string path = temp_path("ending");
    write_file(path, "a\n\n\nb");
    line_reader r(path, 1024);
    const auto got = read_all(r);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].text, "a");
    EXPECT_EQ(got[1].text, "");
    EXPECT_EQ(got[2].text, "");
    EXPECT_EQ(got[3].text, "b");
    std::remove(path.c_str());
}

TEST(LineReader, EmptyFileHasNoLines) {
    const std::string path = temp_path("empty");
    write_file(path, "");
    line_reader r(path, 1024);
    EXPECT_TRUE(read_all(r).empty());
    std::remove(path.c_str());
}

TEST(LineReader, LongLinesAreCutButTheirLengthIsKept) {
    const std::string path = temp_path("long");
    const std::string in_block(5000, 'p');              // within one block
    const std::string spanning((2 << 20) + 3, 'q');      // across three blocks
    write_file(path, in_block + "\nok\n" + spanning + "\nend\n");
    line_reader r(path, 100);
    const auto got = read_all(r);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].text, std::string(100, 'p'));
    EXPECT_EQ(got[0].full_len, 5000u);
    EXPECT_EQ(got[1].text, "ok");
    EXPECT_EQ(got[2].text, std::string(100, 'q'));
    EXPECT_EQ(got[2].full_len, spanning.size());
    EXPECT_EQ(got[3].text, "end");
    std::remove(path.c_str());
}

TEST(LineReader, ReadsAPipeAsItIsWritten) {
    const std::string path = temp_path("fifo");
    ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    const auto lines = varied_lines();
    std::thread writer([&] {
        std::ofstream out(path, std::ios::binary);
        for (const auto& l : lines) {
            out << l << '\n';
            out.flush();  // many small writes: reads see partial lines
        }
    });
    line_reader r(path, 8 << 20);
    EXPECT_FALSE(r.regular_file());
    const auto got = read_all(r);
    writer.join();
    ASSERT_EQ(got.size(), lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(got[i].text, lines[i]) << "line " << i + 1;
    std::remove(path.c_str());
}

// A pipe whose writer stays open and silent: next() says "again" instead of
// blocking, and the reader can be destroyed (shutdown) with its read pending.
TEST(LineReader, AnIdlePipeNeitherBlocksNorHoldsUpShutdown) {
    const std::string path = temp_path("idle");
    ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        std::ofstream out(path, std::ios::binary);
        out << "one\n";
        out.flush();
        while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });
    {
        line_reader r(path, 1024);
        std::string_view line;
        std::size_t full = 0;
        line_reader::status st;
        while ((st = r.next(line, full)) == line_reader::status::again) {
        }
        ASSERT_EQ(st, line_reader::status::line);
        EXPECT_EQ(line, "one");
        EXPECT_EQ(r.next(line, full), line_reader::status::again);
    }  // destroyed with a read pending on the silent pipe
    done.store(true);
    writer.join();
    std::remove(path.c_str());
}

TEST(LineReader, NamesTheFileItCannotOpen) {
    try {
        line_reader r("/nonexistent/capture.ndjson", 1024);
        FAIL() << "opened a file that does not exist";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open replay file /nonexistent/capture.ndjson"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
    }
    try {
        line_reader r("/tmp", 1024);
        FAIL() << "opened a directory";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot replay /tmp"), std::string::npos) << e.what();
    }
}
