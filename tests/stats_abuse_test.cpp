// The stats server under abuse: many clients, unfinished and huge lines,
// garbage, a client that never reads. It keeps answering the others.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "kafka/embedded_broker.hpp"
#include "kafka_test_support.hpp"
#include "pipeline/pipeline.hpp"
#include "sink_factory.hpp"
#include "stats/stats_report.hpp"
#include "stats/stats_server.hpp"

using namespace sluice;

namespace {

int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{10, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Reads one answer (up to the blank line) or until the peer closes.
std::string read_answer(int fd) {
    std::string out;
    char buf[4096];
    while (out.find("\n\n") == std::string::npos) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Reads until the server closes the connection; returns the bytes read, or
// -1 if the 10 s receive timeout expired first.
long read_to_close(int fd) {
    long got = 0;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            got += n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;  // io_uring task work in this process
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
        return got;  // EOF or reset: closed
    }
}

std::string ask(const std::string& path, const std::string& line) {
    const int fd = connect_unix(path);
    if (fd < 0) return "connect failed";
    (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    std::string a = read_answer(fd);
    ::close(fd);
    return a;
}

struct server_fixture {
    pipeline_metrics metrics;
    stats_report report{metrics, nullptr, {}};
    std::string path = sluice::testing::temp_dir() + "/s.sock";
    std::unique_ptr<stats_server> server;
    std::atomic<bool> stop{false};
    std::thread thread;
    explicit server_fixture(stats_limits limits) {
        metrics.sink_names = {"enrichment", "notification", "analytics"};
        server = std::make_unique<stats_server>(report, path, 0600, "", limits);
        thread = std::thread([this] { server->run(stop); });
    }
    ~server_fixture() {
        stop = true;  // the server's tick (200 ms) sees it
        thread.join();
    }
};

}  // namespace

TEST(StatsAbuse, TooManyClientsAreToldAndOthersStillServed) {
    stats_limits limits;
    limits.max_clients = 8;
    server_fixture f(limits);
    std::vector<int> idle;
    for (int i = 0; i < 8; ++i) idle.push_back(connect_unix(f.path));
    // Give the server time to accept the eight.
    for (int i = 0; i < 8; ++i) {
        (void)!::send(idle[static_cast<std::size_t>(i)], "help\n", 5, MSG_NOSIGNAL);
        EXPECT_EQ(read_answer(idle[static_cast<std::size_t>(i)]).rfind("commands", 0), 0u);
    }
    EXPECT_EQ(ask(f.path, "help\n"), "error: too many clients\n\n");
    for (int fd : idle) ::close(fd);
    EXPECT_TRUE(sluice::testing::wait_until([&] { return ask(f.path, "help\n").rfind("commands", 0) == 0; },
                                    std::chrono::seconds(5)));
}

TEST(StatsAbuse, HundredsOfClientsOverTime) {
    server_fixture f(stats_limits{});
    int answered = 0;
    for (int i = 0; i < 300; ++i) {
        const std::string a = ask(f.path, "stats\n");
        if (a.rfind("{\"uptime_s\":", 0) == 0) ++answered;
        else ADD_FAILURE() << "client " << i << " got '" << a.substr(0, 80) << "'";
    }
    EXPECT_EQ(answered, 300);
}

TEST(StatsAbuse, HugeLineGetsAnErrorAndTheConnectionIsClosed) {
    server_fixture f(stats_limits{});
    const int fd = connect_unix(f.path);
    const std::string mib(1 << 20, 'x');
    std::thread writer([&] { (void)!::send(fd, mib.data(), mib.size(), MSG_NOSIGNAL); });
    EXPECT_EQ(read_answer(fd), "error: line longer than 4096 bytes\n\n");
    EXPECT_EQ(read_to_close(fd), 0);  // closed, nothing more
    ::shutdown(fd, SHUT_RDWR);
    writer.join();
    ::close(fd);
    EXPECT_EQ(ask(f.path, "help\n").rfind("commands", 0), 0u);
}

TEST(StatsAbuse, GarbageAndUnfinishedLinesDoNotBlockOthers) {
    stats_limits limits;
    limits.idle_timeout_ms = 500;
    server_fixture f(limits);
    const std::string garbage("\x00\xff\x01\x80\n", 5);
    EXPECT_EQ(ask(f.path, garbage), "error: unknown command '\?\?\?\?' (try help)\n\n");
    // A client that never finishes its line...
    const int slow = connect_unix(f.path);
    (void)!::send(slow, "sta", 3, MSG_NOSIGNAL);
    // ...does not stop others being answered,
    EXPECT_EQ(ask(f.path, "help\n").rfind("commands", 0), 0u);
    // and is closed after the idle limit.
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(read_to_close(slow), 0);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200)) << "closed by the idle limit, not at once";
    ::close(slow);
}

TEST(StatsAbuse, AClientThatNeverReadsIsDroppedAtTheOutputLimit) {
    stats_limits limits;
    limits.max_output_bytes = 64 << 10;
    server_fixture f(limits);
    const int greedy = connect_unix(f.path);
    int small = 0;
    int rcv = 4096;
    ::setsockopt(greedy, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    // Ask for far more than it reads: the server stops queueing and drops it.
    std::string many;
    for (int i = 0; i < 2000; ++i) many += "metrics\n";
    ssize_t sent = 0;
    while (sent < static_cast<ssize_t>(many.size())) {
        const ssize_t n = ::send(greedy, many.data() + sent, many.size() - static_cast<std::size_t>(sent), MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += n;
    }
    small = ask(f.path, "help\n").rfind("commands", 0) == 0;
    EXPECT_EQ(small, 1);
    // The greedy client's connection ends: reading drains what was queued, then EOF or reset.
    const long got = read_to_close(greedy);
    EXPECT_GE(got, 0) << "the server must close the connection";
    EXPECT_LT(got, 2000L * 2000L) << "the server must not queue every answer";
    ::close(greedy);
}

// A running pipeline whose stats socket is abused at its client limit the
// whole time: every event is still processed once and committed, and a
// well-behaved client still gets its answer.
TEST(StatsAbuse, ThePipelineKeepsWorkingWhileTheSocketIsAbused) {
    using namespace sluice::testing;
    const std::string dir = temp_dir(), sock = dir + "/s.sock";
    embedded_broker broker(1, load_settings("", {}).broker_topics());
    const std::string b = broker.bootstraps();
    pipeline p(load_settings("", {"kafka.bootstrap.servers=\"" + b + "\"", "kafka.group.id=\"abused\"",
                                  "stats.socket=\"" + sock + "\"", "stats.max.clients=64",
                                  "sinks.enrichment.output=\"none\"", "sinks.notification.output=\"none\"",
                                  "sinks.analytics.output=\"none\"", "commit.interval.ms=50",
                                  "kafka.properties.\"session.timeout.ms\"=6000"}),
               make_seed_sink, seed_schema());
    p.start();
    // 60 clients: unfinished lines, garbage, requests they never read.
    std::vector<int> abusers;
    const std::string garbage("\x00\xff\x13metrics\nhist decode\nstats\n\x01\x02", 28);
    for (int i = 0; i < 60; ++i) {
        const int fd = connect_unix(sock);
        ASSERT_GE(fd, 0);
        for (int k = 0; k < 50; ++k) (void)!::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        abusers.push_back(fd);
    }
    produce(b, seed_records(5000, 77));
    EXPECT_TRUE(committed_to_end(b, "abused", std::chrono::seconds(60)));
    EXPECT_EQ(ask(sock, "help\n").rfind("commands", 0), 0u) << "a polite client is still answered";
    for (int fd : abusers) ::close(fd);
    p.stop();
    EXPECT_EQ(p.metrics().source.consumed.get(), 5000u) << "each event once";
    EXPECT_EQ(p.metrics().sinks[2].processed.get(), 5000u);
}
