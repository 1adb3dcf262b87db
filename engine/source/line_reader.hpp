// Reads a file of newline-separated records with io_uring, several reads ahead.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Design: owned and used by one thread. A regular file is read in 1 MiB
// blocks at explicit offsets, four reads in flight, so parsing one block
// overlaps the reads of the next; a pipe or FIFO is read one block at a time
// (its reads cannot be ordered). Lines are returned as views into the blocks;
// only a line that spans two blocks is copied, into a buffer reused for it.
class line_reader {
public:
    // Throws std::system_error naming the path when it cannot be opened.
    line_reader(const std::string& path, std::size_t max_line);
    ~line_reader();
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;

    enum class status { line, again, end };
    // The next line, without its '\n' (a last line without one counts too).
    // A line longer than max_line is cut to max_line; full_len is its length.
    // again: nothing arrived within 100 ms (a pipe); end: end of file.
    // The view stays valid until the next call. Throws std::system_error on
    // a read error.
    status next(std::string_view& line, std::size_t& full_len);

    bool regular_file() const noexcept { return regular_; }
    const std::string& path() const noexcept { return path_; }
    std::uint64_t bytes_read() const noexcept { return bytes_read_; }
    // How many times next() has waited for a read to complete.
    std::uint64_t waits() const noexcept { return waits_; }

private:
    struct block {
        std::unique_ptr<char[]> data;
        std::size_t len = 0;     // bytes read so far
        std::uint64_t file_off = 0;
        enum class state { idle, reading, ready } st = state::idle;
    };
    void submit(std::size_t b);
    bool wait_completion();  // false: timed out (pipe)
    void take_carry(const char* p, std::size_t n);

    std::string path_;
    std::size_t max_line_;
    int fd_ = -1;
    bool regular_ = true;
    io_uring ring_{};
    std::vector<block> blocks_;
    std::size_t cur_ = 0;       // block being parsed
    std::size_t pos_ = 0;       // parse position in it
    std::uint64_t next_off_ = 0;  // file offset of the next block to submit
    bool eof_ = false;          // a read reached the end: submit no more
    std::string carry_;         // a line spanning blocks (cut to max_line)
    std::size_t carry_len_ = 0;  // its full length
    bool carry_open_ = false;   // carry_ holds the start of the current line
    bool carry_returned_ = false;
    std::uint64_t bytes_read_ = 0;
    std::uint64_t waits_ = 0;
};

}  // namespace sluice
