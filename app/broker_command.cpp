// `sluice broker`: the embedded broker on its own, for external clients such as kcat.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "commands.hpp"
#include "config/config.hpp"
#include "kafka/broker_control.hpp"
#include "kafka/embedded_broker.hpp"
#include "seed_config.hpp"

namespace sluice {
namespace {

constexpr std::size_t max_control_line = 4096;

// Reads fault commands from stdin ("-") or a FIFO (created if missing) on its
// own thread and prints one reply line per command on stdout.
class control_reader {
public:
    control_reader(embedded_broker& broker, const std::string& path) : control_(broker), path_(path) {
        if (path == "-") {
            fd_ = 0;
        } else {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                if (errno != ENOENT || ::mkfifo(path.c_str(), 0600) != 0)
                    throw std::system_error(errno, std::generic_category(), "--control: cannot create FIFO " + path);
                created_ = true;
            } else if (!S_ISFIFO(st.st_mode)) {
                throw std::invalid_argument("--control: " + path + " exists and is not a FIFO");
            }
            // Read-write: the FIFO never reports end of input when a writer closes it.
            fd_ = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fd_ < 0) {
                const int e = errno;
                if (created_) ::unlink(path.c_str());
                throw std::system_error(e, std::generic_category(), "--control: cannot open " + path);
            }
        }
        thread_ = std::thread([this] { run(); });
    }
    ~control_reader() {
        stop_.store(true, std::memory_order_relaxed);
        thread_.join();
        if (fd_ > 0) ::close(fd_);
        if (created_) ::unlink(path_.c_str());
    }
    control_reader(const control_reader&) = delete;
    control_reader& operator=(const control_reader&) = delete;

private:
    void run() {
        std::string pending;
        bool discarding = false;  // inside a line over the limit
        char buf[4096];
        while (!stop_.load(std::memory_order_relaxed)) {
            pollfd p{fd_, POLLIN, 0};
            const int r = ::poll(&p, 1, 200);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                if (r < 0) break;
                continue;
            }
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                if (!pending.empty() && !discarding) answer(pending);
                std::fprintf(stderr, "control: end of input (the broker keeps running)\n");
                break;
            }
            for (ssize_t i = 0; i < n; ++i) {
                if (buf[i] == '\n') {
                    if (discarding) answer_text("error: line longer than " + std::to_string(max_control_line) +
                                                " bytes ignored");
                    else answer(pending);
                    pending.clear();
                    discarding = false;
                } else if (!discarding) {
                    pending += buf[i];
                    if (pending.size() > max_control_line) {
                        discarding = true;
                        pending.clear();
                    }
                }
            }
        }
    }
    void answer(const std::string& line) { answer_text(control_.apply(line)); }
    void answer_text(const std::string& reply) {
        if (reply.empty()) return;
        std::printf("%s\n", reply.c_str());
        std::fflush(stdout);
    }

    broker_control control_;
    std::string path_;
    int fd_ = -1;
    bool created_ = false;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

int broker_command(const broker_options& o) {
    std::map<std::string, int> topics;
    if (o.defaults) {
        const settings defaults = load_settings("", {});
        topics = defaults.broker_topics();
        // Dead letters of `sluice run --source replay:FILE` against this broker,
        // which checks at start that they have a topic.
        topics["replay" + defaults.dlq_suffix] = 1;
    }
    std::size_t pos = 0;
    while (pos < o.topics.size()) {
        std::size_t end = o.topics.find(',', pos);
        if (end == std::string::npos) end = o.topics.size();
        const std::string item = o.topics.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        const auto colon = item.rfind(':');
        int parts = 0;
        try {
            parts = colon == std::string::npos ? 0 : std::stoi(item.substr(colon + 1));
        } catch (...) {
        }
        if (colon == 0 || parts < 1 || parts > 10000)
            throw std::invalid_argument("--topics: expected name:partitions (1..10000), got '" + item + "'");
        topics[item.substr(0, colon)] = parts;
    }
    embedded_broker broker(o.brokers, topics);
    std::printf("bootstrap=%s\n", broker.bootstraps().c_str());
    std::fflush(stdout);
    for (const auto& [name, parts] : topics) std::fprintf(stderr, "topic %s partitions=%d\n", name.c_str(), parts);
    std::unique_ptr<control_reader> control;
    if (!o.control.empty()) {
        control = std::make_unique<control_reader>(broker, o.control);
        std::fprintf(stderr, "fault controls on %s (help lists them)\n", o.control == "-" ? "stdin" : o.control.c_str());
    }
    std::fprintf(stderr, "embedded broker ready (%d broker%s); Ctrl-C to stop\n", o.brokers, o.brokers == 1 ? "" : "s");
    while (!wait_for_shutdown_signal(1000)) {
    }
    control.reset();
    return 0;
}

}  // namespace sluice
