// Operating the real `sluice run` binary as a service would: sd_notify
// messages on a test NOTIFY_SOCKET in order (READY after the first
// rebalance, WATCHDOG pings, STOPPING), /health and /ready before, during
// and after assignment, one process per stats socket, JSON logs with
// librdkafka's lines in them, SIGHUP reload.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sched.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "binary_test_support.hpp"
#include "kafka_test_support.hpp"

using namespace sluice::testing;
using namespace std::chrono_literals;

namespace {

// A `sluice run` child with its output in files.
class child {
public:
    child(const std::string& dir, const std::string& name, std::vector<std::string> args,
          std::vector<std::string> env_add = {})
        : out_(dir + "/" + name + ".out"), err_(dir + "/" + name + ".err") {
        // `sluice run` unless the arguments name another subcommand.
        if (args.empty() || args[0][0] == '-') args.insert(args.begin(), "run");
        pid_ = spawn_sluice(std::move(args), out_, err_, env_add);
    }
    ~child() {
        if (pid_ > 0) kill_and_reap(pid_);
    }
    pid_t pid() const { return pid_; }
    void signal(int sig) const { ::kill(pid_, sig); }
    // Exit status, or -1 if killed by a signal; waits at most timeout.
    int wait_exit(std::chrono::seconds timeout) {
        int status = 0;
        const bool done = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
        if (!done) return -2;
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    int kill9() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return 0;
    }
    std::string err() const { return slurp(err_); }
    std::string out() const { return slurp(out_); }

private:
    static std::string slurp(const std::string& path) {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    std::string out_, err_;
    pid_t pid_ = -1;
};

// A datagram socket standing in for systemd's notification socket.
class notify_socket {
public:
    explicit notify_socket(const std::string& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("cannot bind " + path);
        timeval tv{0, 100'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~notify_socket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    // One message, or "" after 100 ms without one.
    std::string receive() {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    std::string path_;
    int fd_;
};

std::vector<std::string> common_args(const std::string& socket, int http_port) {
    return {"--set", "stats.socket=\"" + socket + "\"",
            "--set", http_port ? "stats.http=\"127.0.0.1:" + std::to_string(http_port) + "\"" : "stats.http=\"\"",
            "--set", "run.progress=false",
            "--set", "sinks.enrichment.output=none",
            "--set", "sinks.notification.output=none",
            "--set", "sinks.analytics.output=none"};
}

std::string status_line(const std::string& http) { return http.substr(0, http.find("\r\n")); }
std::string body(const std::string& http) {
    const auto p = http.find("\r\n\r\n");
    return p == std::string::npos ? "" : http.substr(p + 4);
}

}  // namespace

// READY once the group has had its first rebalance (never before: /ready
// answers 503 until then), WATCHDOG pings while it runs, STATUS lines,
// STOPPING on SIGTERM, and /ready 503 again while shutting down.
TEST(Service, NotifiesSystemdInOrderAndAnswersHealthAndReady) {
    const std::string dir = temp_dir();
    notify_socket notify(dir + "/notify");
    const std::string sock = dir + "/stats.sock";
    const int port = free_loopback_port();
    child c(dir, "notified", common_args(sock, port),
            {"NOTIFY_SOCKET=" + dir + "/notify", "WATCHDOG_USEC=2000000"});

    std::vector<std::string> messages;
    std::vector<std::string> ready_before_ready;  // /ready answers while no READY=1 came
    std::string health_before_ready;
    bool got_ready = false;
    std::string stats_at_ready, http_ready_at_ready;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!got_ready && std::chrono::steady_clock::now() < deadline) {
        const std::string http = http_get(port, "/ready");
        if (http != "connect failed") {
            ready_before_ready.push_back(status_line(http) + " " + body(http));
            if (health_before_ready.empty()) health_before_ready = http_get(port, "/health");
        }
        for (std::string m; !(m = notify.receive()).empty();) {
            messages.push_back(m);
            if (m.rfind("READY=1", 0) == 0) {
                got_ready = true;
                stats_at_ready = ask_stats(sock, "stats");
                http_ready_at_ready = http_get(port, "/ready");
                break;
            }
        }
    }
    ASSERT_TRUE(got_ready) << c.err();
    // Before READY: /ready said why not, with 503; /health was already 200.
    ASSERT_FALSE(ready_before_ready.empty());
    EXPECT_EQ(ready_before_ready.front(),
              "HTTP/1.1 503 Service Unavailable not ready: waiting for the consumer group's first rebalance\n");
    EXPECT_EQ(status_line(health_before_ready), "HTTP/1.1 200 OK");
    EXPECT_EQ(body(health_before_ready), "ok\n");
    // At READY: the group has rebalanced and /ready is 200.
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(stats_at_ready).get(doc)) << stats_at_ready;
    std::uint64_t rebalances = 0;
    ASSERT_FALSE(doc["source"]["rebalances"].get(rebalances)) << stats_at_ready;
    EXPECT_GE(rebalances, 1u);
    EXPECT_EQ(status_line(http_ready_at_ready), "HTTP/1.1 200 OK");
    EXPECT_EQ(body(http_ready_at_ready), "ready\n");
    EXPECT_EQ(ask_stats(sock, "ready"), "ready\n\n");
    EXPECT_EQ(ask_stats(sock, "health"), "ok\n\n");
    EXPECT_NE(ask_stats(sock, "metrics").find("\nsluice_ready 1\n"), std::string::npos);
    EXPECT_EQ(messages.front().rfind("STATUS=starting", 0), 0u) << messages.front();
    EXPECT_NE(messages.back().find("\nSTATUS=ready: "), std::string::npos) << messages.back();
    for (std::size_t i = 0; i + 1 < messages.size(); ++i)
        EXPECT_EQ(messages[i].find("READY=1"), std::string::npos) << "READY sent twice";

    // Running: pings every WATCHDOG_USEC / 4 (500 ms) while every role loops.
    std::size_t pings = 0, statuses = 0;
    const auto run_until = std::chrono::steady_clock::now() + 6s;
    while (std::chrono::steady_clock::now() < run_until) {
        const std::string m = notify.receive();
        if (m == "WATCHDOG=1") ++pings;
        if (m.rfind("STATUS=[", 0) == 0 && m.find("consumed") != std::string::npos) ++statuses;
        EXPECT_EQ(m.find("READY=1"), std::string::npos);
        EXPECT_EQ(m.find("STOPPING=1"), std::string::npos);
    }
    EXPECT_GE(pings, 4u) << "6 s with a 2 s watchdog";
    EXPECT_GE(statuses, 1u) << "the progress line as STATUS every 5 s";

    // Stopping: STOPPING=1 first, then /ready says so until the server closes.
    c.signal(SIGTERM);
    bool got_stopping = false;
    std::vector<std::string> ready_after;
    for (int i = 0; i < 2000; ++i) {
        for (std::string m; !got_stopping && !(m = notify.receive()).empty();)
            if (m.rfind("STOPPING=1", 0) == 0) got_stopping = true;
        if (!got_stopping) continue;
        const std::string a = ask_stats(sock, "ready");
        if (a == "connect failed" || a.empty()) break;  // the server has stopped
        ready_after.push_back(a);
    }
    EXPECT_TRUE(got_stopping);
    ASSERT_FALSE(ready_after.empty()) << "the stats server answers until the pipeline has stopped";
    for (const auto& a : ready_after) EXPECT_EQ(a, "not ready: shutting down\n\n");
    EXPECT_EQ(c.wait_exit(60s), 0) << c.err();
}

// A second process pointed at a live process's socket refuses to start
// (exit 78, naming the first), and the first keeps its socket; a stale
// socket of a killed process is replaced; a file that is not a socket is
// never removed.
TEST(Service, OneInstancePerStatsSocket) {
    const std::string dir = temp_dir();
    const std::string sock = dir + "/shared.sock";
    child first(dir, "first", common_args(sock, 0));
    ASSERT_TRUE(wait_until([&] { return ask_stats(sock, "health") == "ok\n\n"; }, 60s)) << first.err();

    child second(dir, "second", common_args(sock, 0));
    EXPECT_EQ(second.wait_exit(60s), 78);
    EXPECT_NE(second.err().find("config: stats.socket: " + sock + " is served by process " + std::to_string(first.pid())),
              std::string::npos)
        << second.err();
    EXPECT_EQ(ask_stats(sock, "health"), "ok\n\n") << "the first process lost its socket";

    first.kill9();
    struct stat st {};
    ASSERT_EQ(::stat(sock.c_str(), &st), 0) << "kill -9 leaves the socket file";
    child third(dir, "third", common_args(sock, 0));
    EXPECT_TRUE(wait_until([&] { return ask_stats(sock, "health") == "ok\n\n"; }, 60s)) << third.err();
    third.signal(SIGTERM);
    EXPECT_EQ(third.wait_exit(60s), 0) << third.err();
    EXPECT_NE(::stat(sock.c_str(), &st), 0) << "a clean stop removes its socket";

    const std::string not_a_socket = dir + "/precious.txt";
    std::ofstream(not_a_socket) << "keep me\n";
    child fourth(dir, "fourth", common_args(not_a_socket, 0));
    EXPECT_EQ(fourth.wait_exit(60s), 78);
    EXPECT_NE(fourth.err().find("exists and is not a socket"), std::string::npos) << fourth.err();
    std::ifstream in(not_a_socket);
    std::string kept;
    std::getline(in, kept);
    EXPECT_EQ(kept, "keep me");
}

// log.format = "json": every stderr line is a JSON object with time, level,
// kind and message; librdkafka's complaints about a dead broker arrive as
// such lines, at most log_burst (5) of a kind in the 10 s window.
TEST(Service, JsonLogsCarryLibrdkafkaLinesRateLimited) {
    const std::string dir = temp_dir();
    std::vector<std::string> args = common_args(dir + "/json.sock", 0);
    for (const char* s : {"kafka.bootstrap.servers=\"127.0.0.1:1\"", "log.format=\"json\"",
                          "sinks.enrichment.directory.topic=\"\"", "kafka.properties.\"reconnect.backoff.max.ms\"=100",
                          "kafka.producer.properties.\"reconnect.backoff.max.ms\"=100"}) {
        args.push_back("--set");
        args.push_back(s);
    }
    args.push_back("--duration");
    args.push_back("4");
    child c(dir, "json", args);
    ASSERT_EQ(c.wait_exit(60s), 0) << c.err();
    std::istringstream lines(c.err());
    simdjson::dom::parser parser;
    std::map<std::string, int> per_kind;
    std::map<std::string, std::vector<long>> times;  // ms of the day, per kind
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
        ++n;
        simdjson::dom::element doc;
        ASSERT_FALSE(parser.parse(line).get(doc)) << "not JSON: " << line;
        std::string_view time, level, kind, message;
        ASSERT_FALSE(doc["time"].get(time)) << line;
        ASSERT_FALSE(doc["level"].get(level)) << line;
        ASSERT_FALSE(doc["kind"].get(kind)) << line;
        ASSERT_FALSE(doc["message"].get(message)) << line;
        EXPECT_EQ(time.size(), 24u) << line;
        EXPECT_TRUE(level == "debug" || level == "info" || level == "warning" || level == "error") << line;
        ++per_kind[std::string(kind)];
        const std::string t(time);
        times[std::string(kind)].push_back(std::stol(t.substr(11, 2)) * 3'600'000 + std::stol(t.substr(14, 2)) * 60'000 +
                                           std::stol(t.substr(17, 2)) * 1000 + std::stol(t.substr(20, 3)));
    }
    // The limiter's rule: from a kind's first line, at most 5 lines per 10 s window.
    for (const auto& [kind, ts] : times) {
        long start = ts.front();
        int in_window = 0;
        for (long t : ts) {
            if (t - start >= 10'000) {
                start = t;
                in_window = 0;
            }
            EXPECT_LE(++in_window, 5) << kind << " at " << t;
        }
    }
    EXPECT_GE(per_kind["rdkafka.FAIL"], 1) << c.err();
    EXPECT_EQ(per_kind["topics"], 1) << "the start-up topic check could not reach the broker, and said so";
    EXPECT_EQ(per_kind["run"], 2) << "the start and stop lines";
    EXPECT_EQ(c.out(), "") << "stdout carries no free text with JSON logs";
    EXPECT_EQ(c.err().find("%3|"), std::string::npos) << "a raw librdkafka line";
    EXPECT_GT(n, 0);
}

namespace {

std::string task_updated(int i) {
    return "{\"eventType\":\"task.updated\",\"taskId\":\"t" + std::to_string(i) +
           "\",\"teamId\":\"team1\",\"actorId\":\"u1\",\"creatorId\":\"u1\",\"assigneeId\":\"u2\","
           "\"timestamp\":\"2026-01-01T00:00:" + std::to_string(10 + i % 50) + "Z\",\"payload\":{\"title\":\"t\"}}\n";
}

std::uint64_t sink_processed(const std::string& sock, const char* sink) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::uint64_t v = 0;
    if (parser.parse(ask_stats(sock, "stats")).get(doc) || doc["sinks"][sink]["processed"].get(v)) return UINT64_MAX;
    return v;
}

std::size_t count_lines(const std::string& path) {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

}  // namespace

// SIGHUP: a changed routing takes effect on the next events, keys that take
// a restart are named and kept, the command line's --set values stay on
// top, and a bad file changes nothing.
TEST(Service, SighupReloadsRoutingAndABadFileChangesNothing) {
    const std::string dir = temp_dir();
    const std::string fifo = dir + "/events.fifo", config = dir + "/sluice.toml", sock = dir + "/reload.sock";
    const std::string enriched = dir + "/enriched.jsonl", notified = dir + "/notified.jsonl";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto write_config = [&](const std::string& extra) {
        std::ofstream(config) << "source = \"replay:" << fifo << "\"\n"
                              << "[kafka]\ngroup.id = \"reload\"\n"
                              << "[commit]\ninterval.ms = 100\n"
                              << "[stats]\nsocket = \"" << sock << "\"\nhttp = \"\"\n"
                              << "[run]\nprogress = false\n"
                              << "[sinks.enrichment]\noutput = \"file:" << enriched << "\"\n"
                              << "[sinks.notification]\noutput = \"file:" << notified << "\"\n"
                              << "[sinks.analytics]\noutput = \"none\"\n"
                              << extra;
    };
    write_config("");
    child c(dir, "reload", {"--config", config, "--set", "commit.interval.ms=150"});
    const int fd = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // RDWR: does not wait for the reader
    ASSERT_GE(fd, 0);
    auto send = [&](int from, int to) {
        std::string batch;
        for (int i = from; i < to; ++i) batch += task_updated(i);
        ASSERT_EQ(::write(fd, batch.data(), batch.size()), static_cast<ssize_t>(batch.size()));
    };
    send(0, 10);
    ASSERT_TRUE(wait_until([&] { return sink_processed(sock, "enrichment") == 10; }, 60s)) << c.err();

    // A bad file: one error line, and task.updated still goes to enrichment.
    std::ofstream(config) << "[kafka\n";
    c.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return c.err().find("the running configuration stays") != std::string::npos; }, 30s))
        << c.err();
    EXPECT_NE(c.err().find("reload: config: " + config + ":1:"), std::string::npos) << c.err();
    send(10, 15);
    ASSERT_TRUE(wait_until([&] { return sink_processed(sock, "enrichment") == 15; }, 60s)) << c.err();

    // A good file that routes task.updated away from enrichment, and changes
    // two keys that take a restart.
    write_config("[pipeline]\nring.size = 512\n[routing]\n\"task.updated\" = [\"notification\", \"analytics\"]\n");
    std::string err_before = c.err();
    c.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return c.err().find("routing applied") != std::string::npos; }, 30s)) << c.err();
    const std::string reload_log = c.err().substr(err_before.size());
    EXPECT_NE(reload_log.find("reload: routing.task.updated: (unset) -> [\"notification\", \"analytics\"]"),
              std::string::npos) << reload_log;
    EXPECT_NE(reload_log.find("reload: pipeline.ring.size: changed to 512, but takes a restart; keeping 4096"),
              std::string::npos) << reload_log;
    EXPECT_EQ(reload_log.find("commit.interval.ms"), std::string::npos)
        << "--set commit.interval.ms=150 is applied again on top of the file: no change\n" << reload_log;
    EXPECT_NE(reload_log.find("1 change applied, 1 kept until a restart"), std::string::npos) << reload_log;

    send(15, 25);
    ASSERT_TRUE(wait_until([&] { return sink_processed(sock, "notification") == 25; }, 60s)) << c.err();
    EXPECT_EQ(sink_processed(sock, "enrichment"), 15u) << "events after the reload still went to enrichment";
    ::close(fd);  // end of the replay
    EXPECT_EQ(c.wait_exit(60s), 0) << c.err();
    EXPECT_EQ(count_lines(enriched), 15u);
}

namespace {

// The value of an unlabelled metric in Prometheus text, or -1.
double metric(const std::string& text, const std::string& name) {
    const auto p = text.find("\n" + name + " ");
    return p == std::string::npos ? -1 : std::stod(text.substr(p + name.size() + 2));
}

std::vector<std::string> proc_stat_fields(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(s.substr(s.rfind(')') + 2));
    std::vector<std::string> f = {"", "", ""};  // fields 1 and 2 (pid, comm) are not needed; 1-based
    for (std::string x; rest >> x;) f.push_back(x);
    return f;
}

}  // namespace

// process_* and sluice_build_info on /metrics, against what this test reads
// from /proc and from `sluice --version`.
TEST(Service, ProcessMetricsAndBuildInfo) {
    const std::string dir = temp_dir();
    const std::string sock = dir + "/proc.sock";
    child c(dir, "proc", common_args(sock, 0));
    ASSERT_TRUE(wait_until([&] { return ask_stats(sock, "health") == "ok\n\n"; }, 60s)) << c.err();
    const std::string m = ask_stats(sock, "metrics");
    const auto f = proc_stat_fields(c.pid());
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double btime = 0;
    {
        std::ifstream in("/proc/stat");
        for (std::string line; std::getline(in, line);)
            if (line.rfind("btime ", 0) == 0) btime = std::stod(line.substr(6));
    }
    EXPECT_DOUBLE_EQ(metric(m, "process_start_time_seconds"), btime + std::stod(f[22]) / ticks) << m;
    const double cpu_after = (std::stod(f[14]) + std::stod(f[15])) / ticks;
    EXPECT_GE(metric(m, "process_cpu_seconds_total"), 0.0);
    EXPECT_LE(metric(m, "process_cpu_seconds_total"), cpu_after + 1e-9);
    const double rss = std::stod(f[24]) * static_cast<double>(sysconf(_SC_PAGESIZE));
    EXPECT_NEAR(metric(m, "process_resident_memory_bytes"), rss, rss * 0.1);
    EXPECT_NEAR(metric(m, "process_virtual_memory_bytes"), std::stod(f[23]), std::stod(f[23]) * 0.1);
    int fds = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(c.pid()) + "/fd")) {
        (void)e;
        ++fds;
    }
    EXPECT_NEAR(metric(m, "process_open_fds"), fds, 2) << "the scrape's own connection may come and go";
    rlimit lim{};
    ASSERT_EQ(::prlimit(c.pid(), RLIMIT_NOFILE, nullptr, &lim), 0);
    EXPECT_DOUBLE_EQ(metric(m, "process_max_fds"), static_cast<double>(lim.rlim_cur));

    // sluice_build_info carries what --version prints.
    const std::string version_file = dir + "/version";
    ASSERT_EQ(std::system((sluice_binary() + " --version > " + version_file).c_str()), 0);
    std::ifstream vin(version_file);
    std::string first, rdkafka;
    std::getline(vin, first);
    std::getline(vin, rdkafka);
    const std::string revision = first.substr(first.find("(git ") + 5, first.find(')') - first.find("(git ") - 5);
    EXPECT_NE(m.find("sluice_build_info{version=\"" + first.substr(7, first.find(' ', 7) - 7) + "\",revision=\"" + revision +
                     "\",librdkafka=\"" + rdkafka.substr(11) + "\""),
              std::string::npos)
        << m.substr(m.find("sluice_build_info"), 200);
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait_exit(60s), 0) << c.err();
}

// librdkafka's statistics on /metrics: the group consumer's broker
// connection is up with a round-trip time, and the partitions librdkafka
// says are assigned are the ones sluice's own stats show.
TEST(Service, LibrdkafkaStatisticsAsMetrics) {
    const std::string dir = temp_dir();
    const std::string sock = dir + "/kstats.sock";
    auto args = common_args(sock, 0);
    for (const char* s : {"kafka.properties.\"statistics.interval.ms\"=200",
                          "kafka.producer.properties.\"statistics.interval.ms\"=200"}) {
        args.push_back("--set");
        args.push_back(s);
    }
    child c(dir, "kstats", args);
    std::string m;
    std::size_t assigned = 0;
    auto consistent = [&] {
        m = ask_stats(sock, "metrics");
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        simdjson::dom::array parts;
        if (parser.parse(ask_stats(sock, "stats")).get(doc) || doc["partitions"].get(parts)) return false;
        assigned = 0;
        for (auto p : parts) {
            bool a = false;
            if (!p["assigned"].get(a) && a) ++assigned;
        }
        // The group consumer's line (the directory follower is a consumer too, outside the group).
        const std::string want = "\nsluice_kafka_group_assigned_partitions{client=\"";
        std::size_t most = 0;
        for (auto at = m.find(want); at != std::string::npos; at = m.find(want, at + 1))
            most = std::max<std::size_t>(most, std::stoul(m.substr(m.find("} ", at) + 2)));
        return assigned > 0 && most == assigned;
    };
    ASSERT_TRUE(wait_until(consistent, 60s)) << "assigned " << assigned << "\n" << m.substr(0, 4000) << c.err();
    EXPECT_EQ(assigned, 24u) << "the 7 default topics' partitions (portfolio.analytics has 6), to the only member";
    EXPECT_NE(m.find("# TYPE sluice_kafka_broker_rtt_seconds summary"), std::string::npos);
    EXPECT_NE(m.find("sluice_kafka_broker_up{client=\"rdkafka#consumer-"), std::string::npos) << m;
    EXPECT_NE(m.find("sluice_kafka_broker_up{client=\"rdkafka#producer-"), std::string::npos) << m;
    const auto up = m.find("sluice_kafka_broker_up{client=\"rdkafka#consumer-");
    EXPECT_EQ(m.substr(m.find("} ", up) + 2, 1), "1") << "the consumer's broker is up";
    // One HELP/TYPE header per family even with many clients.
    std::size_t headers = 0;
    for (auto p = m.find("# TYPE sluice_kafka_broker_up "); p != std::string::npos;
         p = m.find("# TYPE sluice_kafka_broker_up ", p + 1))
        ++headers;
    EXPECT_EQ(headers, 1u);
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait_exit(60s), 0) << c.err();
}

// `sluice stats --watch` outlives the process it watches: when it goes away
// the watch says so and waits, and picks up the next process on the socket.
TEST(Service, StatsWatchReconnectsAfterARestart) {
    const std::string dir = temp_dir();
    const std::string sock = dir + "/watched.sock";
    auto first = std::make_unique<child>(dir, "watched1", common_args(sock, 0));
    ASSERT_TRUE(wait_until([&] { return ask_stats(sock, "health") == "ok\n\n"; }, 60s)) << first->err();
    child watch(dir, "watch", {"stats", "--socket", sock, "--watch", "--interval", "0.2"});
    ASSERT_TRUE(wait_until([&] { return watch.out().find("consumed") != std::string::npos; }, 30s)) << watch.err();
    first->signal(SIGTERM);
    EXPECT_EQ(first->wait_exit(60s), 0);
    ASSERT_TRUE(wait_until([&] { return watch.out().find("sluice stats: lost " + sock) != std::string::npos; }, 30s))
        << watch.out() << watch.err();
    const std::size_t lost_at = watch.out().find("sluice stats: lost ");
    child second(dir, "watched2", common_args(sock, 0));
    ASSERT_TRUE(wait_until([&] { return watch.out().find("sluice stats: reconnected to " + sock) != std::string::npos; },
                           60s))
        << watch.out() << second.err();
    const std::string out = watch.out();
    const std::size_t again = out.find("sluice stats: reconnected to ");
    EXPECT_GT(again, lost_at);
    EXPECT_TRUE(wait_until([&] { return watch.out().find("consumed", again) != std::string::npos; }, 30s))
        << "the table again after the reconnect";
    watch.signal(SIGINT);
    EXPECT_EQ(watch.wait_exit(30s), 0) << watch.err();
    second.signal(SIGTERM);
    EXPECT_EQ(second.wait_exit(60s), 0) << second.err();
}

namespace {

std::string read_file_trimmed(const std::string& path, bool* ok = nullptr) {
    std::ifstream in(path);
    if (ok) *ok = static_cast<bool>(in);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string bracketed(const std::string& s) { return s.substr(s.find('[') + 1, s.find(']') - s.find('[') - 1); }

int count_cpus(const std::string& list) {  // "0-3,8" -> 5
    int n = 0;
    std::stringstream ss(list);
    for (std::string part; std::getline(ss, part, ',');) {
        const auto dash = part.find('-');
        n += dash == std::string::npos ? 1 : std::stoi(part.substr(dash + 1)) - std::stoi(part.substr(0, dash)) + 1;
    }
    return n;
}

struct doctor_run {
    int rc;
    std::map<std::string, std::pair<std::string, std::string>> findings;  // check -> (status, value)
    std::int64_t warnings = -1;
};

doctor_run run_doctor(const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args = {"doctor", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    child d(dir, "doctor", args);
    doctor_run r;
    r.rc = d.wait_exit(60s);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    const std::string out = d.out();
    if (parser.parse(out).get(doc)) return r;
    simdjson::dom::array arr;
    if (doc["findings"].get(arr)) return r;
    for (auto f : arr) {
        std::string_view check, status, value;
        if (f["check"].get(check) || f["status"].get(status) || f["value"].get(value)) continue;
        r.findings[std::string(check)] = {std::string(status), std::string(value)};
    }
    if (doc["warnings"].get(r.warnings)) r.warnings = -1;
    return r;
}

}  // namespace

// `sluice doctor --json` on this machine: each finding's value is what this
// test reads from /proc and /sys itself, and the exit code follows the warnings.
TEST(Doctor, FindingsMatchProcAndSys) {
    const std::string dir = temp_dir();
    const doctor_run r = run_doctor(dir, {});
    ASSERT_EQ(r.findings.size(), 11u);
    const std::string cpu = "/sys/devices/system/cpu/";
    const int online = count_cpus(read_file_trimmed(cpu + "online"));
    EXPECT_EQ(r.findings.at("cpus").second, std::to_string(online));
    // pipeline.sinks = "auto": inline below 5 usable CPUs (the affinity mask
    // within the cgroup's quota: at most the mask), which leaves 3 role threads.
    cpu_set_t mask;
    CPU_ZERO(&mask);
    ASSERT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
    const std::string sinks = r.findings.at("sinks").second;
    const std::size_t usable = std::stoul(sinks.substr(sinks.find("auto: ") + 6));
    EXPECT_GE(usable, 1u);
    EXPECT_LE(usable, static_cast<std::size_t>(CPU_COUNT(&mask)));
    const bool sinks_inline = usable < 5;
    EXPECT_EQ(sinks, std::string(sinks_inline ? "inline" : "threads") + " (auto: " + std::to_string(usable) +
                         " usable CPUs for 5 roles)");
    EXPECT_EQ(r.findings.at("sinks").first, "ok");
    EXPECT_EQ(r.findings.at("cpus").first, online < (sinks_inline ? 3 : 6) ? "warning" : "ok") << "role threads";
    const doctor_run threads = run_doctor(dir, {"--set", "pipeline.sinks=\"threads\""});
    EXPECT_EQ(threads.findings.at("sinks"),
              std::make_pair(std::string(sinks_inline ? "warning" : "ok"), std::string("threads")));
    EXPECT_EQ(threads.findings.at("cpus").first, online < 6 ? "warning" : "ok") << "6 role threads";
    EXPECT_EQ(r.findings.at("pinning"), std::make_pair(std::string("ok"), std::string("none")));
    const std::string iso = read_file_trimmed(cpu + "isolated");
    EXPECT_EQ(r.findings.at("isolated_cores").second, iso.empty() ? "none" : iso);
    std::set<std::string> govs;
    for (int c = 0; c < online; ++c) {
        bool ok = false;
        const std::string g = read_file_trimmed(cpu + "cpu" + std::to_string(c) + "/cpufreq/scaling_governor", &ok);
        if (ok) govs.insert(g);
    }
    std::string gv;
    for (const auto& g : govs) gv += (gv.empty() ? "" : ",") + g;
    EXPECT_EQ(r.findings.at("cpu_governor").second, gv.empty() ? "unavailable" : gv);
    EXPECT_EQ(r.findings.at("cpu_governor").first, gv.empty() ? "info" : gv == "performance" ? "ok" : "warning");
    bool smt_ok = false;
    const std::string smt = read_file_trimmed(cpu + "smt/active", &smt_ok);
    EXPECT_EQ(r.findings.at("smt").second, smt_ok ? smt : "unavailable");
    // Each NIC interrupt named: its affinity as /proc/irq says, and its line in /proc/interrupts.
    std::istringstream irqs(r.findings.at("nic_irq_affinity").second);
    std::ifstream interrupts_in("/proc/interrupts");
    const std::string interrupts((std::istreambuf_iterator<char>(interrupts_in)), std::istreambuf_iterator<char>());
    for (std::string item; irqs >> item;) {
        if (item == "none") break;
        const std::string irq = item.substr(0, item.find(':'));
        EXPECT_EQ(item.substr(item.find(':') + 1), read_file_trimmed("/proc/irq/" + irq + "/smp_affinity_list")) << item;
        EXPECT_NE(interrupts.find(" " + irq + ":"), std::string::npos) << item;
    }
    rlimit lim{};
    ::getrlimit(RLIMIT_MEMLOCK, &lim);  // the child inherits this process's limit
    EXPECT_EQ(r.findings.at("memlock").second, lim.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(lim.rlim_cur));
    EXPECT_EQ(r.findings.at("io_uring").second, "available") << "this test suite's stats server needs io_uring too";
    EXPECT_EQ(r.findings.at("transparent_hugepages").second,
              bracketed(read_file_trimmed("/sys/kernel/mm/transparent_hugepage/enabled")) + "/" +
                  bracketed(read_file_trimmed("/sys/kernel/mm/transparent_hugepage/defrag")));
    long long swap_kb = 0;
    {
        std::ifstream in("/proc/swaps");
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::istringstream ls(line);
            std::string name, type;
            long long size = 0;
            if (ls >> name >> type >> size) swap_kb += size;
        }
    }
    EXPECT_EQ(r.findings.at("swap").second, std::to_string(swap_kb));
    EXPECT_EQ(r.findings.at("swap").first, swap_kb > 0 ? "warning" : "ok");
    int warnings = 0;
    for (const auto& [check, f] : r.findings) warnings += f.first == "warning";
    EXPECT_EQ(r.warnings, warnings);
    EXPECT_EQ(r.rc, warnings ? 1 : 0);

    // A spinning, pinned source: named in pinning; without isolated cores a warning.
    const doctor_run spin = run_doctor(dir, {"--set", "threads.source.wait=\"spin\"", "--set", "threads.source.cpus=[0]"});
    EXPECT_EQ(spin.findings.at("pinning").second, "source");
    EXPECT_EQ(spin.findings.at("isolated_cores").first, iso.empty() ? "warning" : "ok");
    EXPECT_EQ(spin.rc, 1);
}
