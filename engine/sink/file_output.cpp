// Sink records appended to a file through io_uring, one write in flight at a time.
#include <fcntl.h>
#include <sys/stat.h>
#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "base/json_writer.hpp"
#include "sink/output.hpp"

namespace sluice {
namespace {

// Records are batched into one buffer and appended with a single write; a
// record counts as delivered when the write holding it completed in full and,
// for a regular file, a datasync after it did too (the commit that follows
// must survive a power loss as the records do). /dev/null, pipes and FIFOs
// have nothing to sync (fdatasync fails there with EINVAL) and are not synced.
// Double-buffered: the next batch fills while the previous write (and sync)
// is in flight, and writes never overlap, so the file keeps record order.
class file_output final : public output {
public:
    file_output(const std::string& path, delivery_handler& h) : path_(path), handler_(h) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open output file " + path);
        struct stat st {};
        sync_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
        if (int rc = io_uring_queue_init(8, &ring_, 0); rc < 0) {
            ::close(fd_);
            throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
        }
        filling_.data.reserve(1 << 16);
        filling_.keys.reserve(1 << 12);
        writing_.keys.reserve(1 << 12);
        writing_.data.reserve(1 << 16);
    }
    // The sink runner waited for every delivery, or gave up at the shutdown
    // deadline: what is left is not reported (its tracker is going away and
    // its events are not committed), only waited for, at most a second; a
    // write still in flight then keeps its buffer, which is never freed.
    ~file_output() override {
        closing_ = true;
        __kernel_timespec wait{0, 100'000'000};
        for (int i = 0; i < 10 && writing_active_; ++i) {
            io_uring_cqe* cqe = nullptr;
            if (io_uring_wait_cqe_timeout(&ring_, &cqe, &wait) == 0 && cqe) complete(cqe);
        }
        if (writing_active_) new batch(std::move(writing_));  // the kernel may still read it
        io_uring_queue_exit(&ring_);
        ::close(fd_);
    }

    bool write(std::string_view key, std::string_view record, std::uint64_t token, trace_view trace) override {
        // A record that is a JSON object gets the trace as one more field,
        // "trace": {"traceparent": "...", ...}, before its closing brace.
        const bool traced = !trace.empty() && record.size() >= 2 && record.front() == '{' && record.back() == '}';
        if (!traced) {
            filling_.data.append(record);
        } else {
            filling_.data.append(record.data(), record.size() - 1);
            if (record.size() > 2) filling_.data.push_back(',');
            json_writer w(filling_.data);
            w.key("trace").begin_object();
            for (std::size_t i = 0; i < trace.count; ++i) w.escaped_key(trace.items[i].name).value(trace.items[i].value);
            w.end_object();
            filling_.data.push_back('}');
        }
        filling_.data.push_back('\n');
        filling_.keys.append(key);
        filling_.tokens.push_back({token, static_cast<std::uint32_t>(traced ? record.size() : 0),
                                   static_cast<std::uint32_t>(key.size())});
        return true;
    }

    void flush() override {
        if (writing_active_ || filling_.tokens.empty()) return;
        std::swap(filling_, writing_);
        filling_.data.clear();
        filling_.keys.clear();
        filling_.tokens.clear();
        written_ = 0;
        submit();
    }

    bool poll() override {
        io_uring_cqe* cqe = nullptr;
        if (!writing_active_ || io_uring_peek_cqe(&ring_, &cqe) != 0 || !cqe) return false;
        complete(cqe);
        flush();
        return true;
    }

    std::size_t in_flight() const noexcept override {
        return filling_.tokens.size() + (writing_active_ ? writing_.tokens.size() : 0);
    }
    std::string describe() const override { return "file:" + path_; }

private:
    struct entry {
        std::uint64_t token;
        std::uint32_t traced_len;  // the record's own length when a trace was added, else 0
        std::uint32_t key_len;     // its key, next in keys: reported back for per-key resend order
    };
    struct batch {
        std::string data;
        std::string keys;
        std::vector<entry> tokens;
    };

    void submit() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        // offset -1: append at the file position (O_APPEND).
        io_uring_prep_write(sqe, fd_, writing_.data.data() + written_,
                            static_cast<unsigned>(writing_.data.size() - written_), -1);
        io_uring_sqe_set_data(sqe, nullptr);
        io_uring_submit(&ring_);
        writing_active_ = true;
    }

    void submit_sync() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data(sqe, &sync_tag_);
        io_uring_submit(&ring_);
        writing_active_ = true;
    }

    void complete(io_uring_cqe* cqe) {
        const int res = cqe->res;
        const bool was_sync = io_uring_cqe_get_data(cqe) == &sync_tag_;
        io_uring_cqe_seen(&ring_, cqe);
        writing_active_ = false;
        if (closing_) return;
        if (!was_sync && res > 0 && written_ + static_cast<std::size_t>(res) < writing_.data.size()) {
            written_ += static_cast<std::size_t>(res);  // short write: append the rest
            submit();
            return;
        }
        if (!was_sync && res > 0 && sync_) {
            submit_sync();  // delivered once the data is durable
            return;
        }
        // A write of nothing with bytes left is a failure, not a delivery.
        const bool wrote_nothing = !was_sync && res == 0 && written_ < writing_.data.size();
        const char* error = res < 0 ? (was_sync ? sync_failure(-res) : std::strerror(-res))
                            : wrote_nothing ? "write wrote 0 bytes" : nullptr;
        std::size_t pos = 0, key_pos = 0;
        for (const entry& t : writing_.tokens) {
            const std::string_view key = std::string_view(writing_.keys).substr(key_pos, t.key_len);
            key_pos += t.key_len;
            const std::size_t end = writing_.data.find('\n', pos);
            std::string_view record = std::string_view(writing_.data).substr(pos, end - pos);
            if (t.traced_len) {
                // The record as given: its text up to the trace field, closed again.
                original_.assign(record.data(), t.traced_len - 1).push_back('}');
                record = original_;
            }
            handler_.delivered(t.token, key, record, error);
            pos = end + 1;
        }
        writing_.tokens.clear();
    }

    std::string path_;
    delivery_handler& handler_;
    int fd_ = -1;
    io_uring ring_{};
    batch filling_, writing_;
    std::string original_;  // reused: a traced record as given, for its report
    std::size_t written_ = 0;
    bool writing_active_ = false;
    bool sync_ = false;  // a regular file: each batch is datasynced before delivery
    bool closing_ = false;  // destructor: completions are not reported
    char sync_tag_ = 0;  // its address marks the sync's completion
    std::map<int, std::string> sync_errors_;  // by errno; the texts stay put for the trackers that keep them

    const char* sync_failure(int err) {
        auto it = sync_errors_.find(err);
        if (it == sync_errors_.end()) it = sync_errors_.emplace(err, std::string("fdatasync: ") + std::strerror(err)).first;
        return it->second.c_str();
    }
};

}  // namespace

std::unique_ptr<output> make_file_output(const std::string& path, delivery_handler& handler) {
    return std::make_unique<file_output>(path, handler);
}

}  // namespace sluice
