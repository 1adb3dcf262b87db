// io_uring block reads with read-ahead, split into lines.
#include "source/line_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace sluice {

namespace {
constexpr std::size_t block_size = 1 << 20;
constexpr std::size_t blocks_ahead = 4;
}  // namespace

line_reader::line_reader(const std::string& path, std::size_t max_line) : path_(path), max_line_(max_line) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open replay file " + path);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int e = errno;
        ::close(fd_);
        throw std::system_error(e, std::generic_category(), "cannot stat replay file " + path);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd_);
        throw std::system_error(EISDIR, std::generic_category(), "cannot replay " + path);
    }
    regular_ = S_ISREG(st.st_mode);
    if (int rc = io_uring_queue_init(blocks_ahead * 2, &ring_, 0); rc < 0) {
        ::close(fd_);
        throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
    }
    blocks_.resize(regular_ ? blocks_ahead : 2);
    for (auto& b : blocks_) b.data.reset(new char[block_size]);
    carry_.reserve(std::min(max_line_, block_size));
    // A pipe has one read in flight; a file one per block.
    for (std::size_t b = 0; b < (regular_ ? blocks_.size() : 1); ++b) submit(b);
}

line_reader::~line_reader() {
    // Reads still in flight write into the blocks: cancel them (a pipe's may
    // wait forever for a writer) and wait for every completion first.
    constexpr std::uint64_t cancel_tag = ~std::uint64_t(0);
    std::size_t pending = 0;
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        if (blocks_[b].st != block::state::reading) continue;
        ++pending;
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        io_uring_prep_cancel64(sqe, b, 0);
        io_uring_sqe_set_data64(sqe, cancel_tag);
    }
    if (pending) io_uring_submit(&ring_);
    while (pending) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&ring_, &cqe) != 0 || !cqe) break;
        if (io_uring_cqe_get_data64(cqe) != cancel_tag) --pending;
        io_uring_cqe_seen(&ring_, cqe);
    }
    io_uring_queue_exit(&ring_);
    ::close(fd_);
}

void line_reader::submit(std::size_t b) {
    block& blk = blocks_[b];
    if (blk.st == block::state::idle) {
        blk.len = 0;
        blk.file_off = next_off_;
        next_off_ += block_size;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    // A pipe reads at its position (-1); a file at the block's offset, plus
    // what a short read already brought in.
    io_uring_prep_read(sqe, fd_, blk.data.get() + blk.len, static_cast<unsigned>(block_size - blk.len),
                       regular_ ? blk.file_off + blk.len : static_cast<std::uint64_t>(-1));
    io_uring_sqe_set_data64(sqe, b);
    io_uring_submit(&ring_);
    blk.st = block::state::reading;
}

bool line_reader::wait_completion() {
    ++waits_;
    io_uring_cqe* cqe = nullptr;
    if (regular_) {
        const int rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc < 0) throw std::system_error(-rc, std::generic_category(), "reading " + path_);
    } else {
        __kernel_timespec ts{0, 100'000'000};
        const int rc = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
        if (rc == -ETIME || rc == -EINTR) return false;
        if (rc < 0) throw std::system_error(-rc, std::generic_category(), "reading " + path_);
    }
    const std::size_t b = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    block& blk = blocks_[b];
    if (res == -EINTR || res == -EAGAIN) {
        submit(b);
        return true;
    }
    if (res < 0) {
        blk.st = block::state::idle;
        throw std::system_error(-res, std::generic_category(), "reading " + path_);
    }
    blk.len += static_cast<std::size_t>(res);
    bytes_read_ += static_cast<std::uint64_t>(res);
    // A file block is complete when full or at the end of the file (a short
    // read in between asks for the rest); a pipe hands over what it has.
    if (regular_ && res > 0 && blk.len < block_size) {
        submit(b);
        return true;
    }
    if (res == 0 || (regular_ && blk.len < block_size)) eof_ = true;
    blk.st = block::state::ready;
    return true;
}

void line_reader::take_carry(const char* p, std::size_t n) {
    if (!carry_open_) {
        carry_.clear();
        carry_len_ = 0;
        carry_open_ = true;
    }
    if (carry_.size() < max_line_) carry_.append(p, std::min(n, max_line_ - carry_.size()));
    carry_len_ += n;
}

line_reader::status line_reader::next(std::string_view& line, std::size_t& full_len) {
    if (carry_returned_) {
        carry_returned_ = false;
        carry_open_ = false;
    }
    for (;;) {
        block& blk = blocks_[cur_];
        if (blk.st == block::state::idle) {
            // Only after the end of the file: nothing more was submitted.
            if (carry_open_) {
                line = carry_;
                full_len = carry_len_;
                carry_returned_ = true;
                return status::line;
            }
            return status::end;
        }
        if (blk.st == block::state::reading) {
            if (!wait_completion()) return status::again;
            continue;
        }
        if (blk.len == 0) {  // the end: no more data in this or later blocks
            blk.st = block::state::idle;
            continue;
        }
        const char* base = blk.data.get();
        const char* start = base + pos_;
        const std::size_t left = blk.len - pos_;
        if (const void* nl = left ? std::memchr(start, '\n', left) : nullptr) {
            const std::size_t n = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
            pos_ += n + 1;
            if (carry_open_) {
                take_carry(start, n);
                line = carry_;
                full_len = carry_len_;
                carry_returned_ = true;
            } else {
                line = std::string_view(start, std::min(n, max_line_));
                full_len = n;
            }
            return status::line;
        }
        // The rest of this block starts a line that ends in a later block.
        if (left) take_carry(start, left);
        blk.st = block::state::idle;
        pos_ = 0;
        const std::size_t done = cur_;
        cur_ = (cur_ + 1) % blocks_.size();
        if (eof_) continue;
        // A file reads this block again further on; a pipe, with one read in
        // flight, starts the next block's read now.
        submit(regular_ ? done : cur_);
    }
}

}  // namespace sluice
