// io_uring server for the stats protocol on a Unix socket and, optionally, loopback HTTP.
#include "stats/stats_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "base/clock.hpp"
#include "config/config.hpp"

namespace sluice {

namespace {

enum op : std::uint64_t { op_accept_unix = 1, op_accept_tcp = 2, op_recv = 3, op_send = 4, op_tick = 5 };

std::uint64_t pack(op o, int fd) noexcept { return (static_cast<std::uint64_t>(o) << 32) | static_cast<std::uint32_t>(fd); }
op op_of(std::uint64_t ud) noexcept { return static_cast<op>(ud >> 32); }
int fd_of(std::uint64_t ud) noexcept { return static_cast<int>(ud & 0xffffffffu); }

// One process per socket: a socket some process still accepts on is refused
// (naming that process), one nobody accepts on is left from a dead process
// and removed; anything that is not a socket is never removed.
void replace_stale_socket(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode))
        throw config_error("config: stats.socket: " + path + " exists and is not a socket; not replacing it");
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) throw std::system_error(errno, std::generic_category(), "stats socket");
    const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int e = errno;
    if (rc == 0) {
        ucred peer{};
        socklen_t len = sizeof peer;
        std::string who = "another process";
        if (::getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.pid > 0)
            who = "process " + std::to_string(peer.pid);
        ::close(probe);
        throw config_error("config: stats.socket: " + path + " is served by " + who +
                           " (another sluice running?); give each instance its own stats.socket");
    }
    ::close(probe);
    if (e != ECONNREFUSED) throw std::system_error(e, std::generic_category(), "stats socket " + path);
    ::unlink(path.c_str());
}

int listen_unix(const std::string& path, std::uint32_t mode) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("stats.socket: path too long: " + path);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "stats socket");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    replace_stale_socket(path, addr);
    // Create it with the final mode: no window in which it is more open.
    const mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
    const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc < 0 || ::chmod(path.c_str(), mode) < 0 || ::listen(fd, 128) < 0) {
        const int e = errno;
        ::close(fd);
        throw std::system_error(e, std::generic_category(), "stats socket " + path);
    }
    return fd;
}

int listen_tcp(const std::string& hostport) {
    const auto colon = hostport.rfind(':');
    std::string host = hostport.substr(0, colon);
    const std::string port = hostport.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
        throw std::runtime_error("stats.http " + hostport + ": " + gai_strerror(rc));
    const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) < 0 || ::listen(fd, 128) < 0) {
        const int e = errno;
        ::freeaddrinfo(res);
        if (fd >= 0) ::close(fd);
        throw std::system_error(e, std::generic_category(), "stats.http " + hostport);
    }
    ::freeaddrinfo(res);
    return fd;
}

}  // namespace

// Design: stats thread only, apart from construction and destruction on the
// control thread. Every operation in flight is one io_uring request whose
// user_data packs its kind and fd; a connection's fd is closed only once
// none of its requests is in flight, so no completion names a reused fd.
struct stats_server::impl {
    struct conn {
        explicit conn(stats_session s) : session(std::move(s)) {}
        stats_session session;
        bool closing = false;     // close once the send completes
        bool recv_armed = false;
        bool send_armed = false;
        std::string out;          // queued answer bytes
        std::size_t sent = 0;     // of the answer being sent
        std::string sending;
        std::int64_t last_activity_ns = 0;
        char buf[4096];
    };

    impl(const stats_report& r, const stats_limits& l) : report(r), limits(l) {}

    void arm_listeners();
    // Submits what is armed, waits for one completion at least, handles every completion there is.
    void serve_completions();

    void on_tick(std::int64_t now);
    void on_accept(op o, int listen_fd, int res, std::int64_t now);
    void on_recv(int fd, int res, std::int64_t now);
    void on_send(int fd, int res, std::int64_t now);

    void arm_accept(int fd, op o);
    void arm_tick();
    void arm_recv(int fd, conn& c);
    void arm_send(int fd, conn& c);
    void close_conn(int fd);

    const stats_report& report;
    const stats_limits& limits;
    io_uring ring{};
    int unix_fd = -1, tcp_fd = -1;
    ino_t socket_inode = 0;  // ours; a file at the path with another inode is not removed
    std::unordered_map<int, conn> conns;
    __kernel_timespec tick{0, 200'000'000};
    std::uint64_t rejected = 0;
};

stats_server::stats_server(const stats_report& report, const std::string& socket_path, std::uint32_t mode,
                           const std::string& http, const stats_limits& limits)
    : report_(report), path_(socket_path), limits_(limits), impl_(new impl(report_, limits_)) {
    if (int rc = io_uring_queue_init(256, &impl_->ring, 0); rc < 0)
        throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init for the stats server");
    try {
        if (!socket_path.empty()) {
            impl_->unix_fd = listen_unix(socket_path, mode);
            struct stat st {};
            if (::stat(socket_path.c_str(), &st) == 0) impl_->socket_inode = st.st_ino;
        }
        if (!http.empty()) impl_->tcp_fd = listen_tcp(http);
    } catch (...) {
        io_uring_queue_exit(&impl_->ring);
        throw;
    }
}

stats_server::~stats_server() {
    for (auto& [fd, c] : impl_->conns) ::close(fd);
    if (impl_->unix_fd >= 0) {
        ::close(impl_->unix_fd);
        struct stat st {};
        if (::stat(path_.c_str(), &st) == 0 && st.st_ino == impl_->socket_inode) ::unlink(path_.c_str());
    }
    if (impl_->tcp_fd >= 0) ::close(impl_->tcp_fd);
    io_uring_queue_exit(&impl_->ring);
}

void stats_server::run(const std::atomic<bool>& stop) {
    impl_->arm_listeners();
    while (!stop.load(std::memory_order_relaxed)) {
        loops_.store(loops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        impl_->serve_completions();
    }
}

void stats_server::impl::arm_listeners() {
    if (unix_fd >= 0) arm_accept(unix_fd, op_accept_unix);
    if (tcp_fd >= 0) arm_accept(tcp_fd, op_accept_tcp);
    arm_tick();
}

void stats_server::impl::serve_completions() {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        const std::uint64_t ud = cqe->user_data;
        const int res = cqe->res;
        const int fd = fd_of(ud);
        const std::int64_t now = mono_ns();
        switch (op_of(ud)) {
            case op_tick: on_tick(now); break;
            case op_accept_unix:
            case op_accept_tcp: on_accept(op_of(ud), fd, res, now); break;
            case op_recv: on_recv(fd, res, now); break;
            case op_send: on_send(fd, res, now); break;
        }
    }
    io_uring_cq_advance(&ring, seen);
}

// Clients that never finish a line are dropped after the idle limit.
void stats_server::impl::on_tick(std::int64_t now) {
    arm_tick();
    std::vector<int> idle;
    for (auto& [cfd, c] : conns)
        if (now - c.last_activity_ns > std::int64_t(limits.idle_timeout_ms) * 1'000'000) idle.push_back(cfd);
    for (int cfd : idle) close_conn(cfd);
}

// A new client, or a refusal when max_clients are connected.
void stats_server::impl::on_accept(op o, int listen_fd, int res, std::int64_t now) {
    arm_accept(listen_fd, o);
    if (res < 0) return;
    if (conns.size() >= limits.max_clients) {
        static const char busy[] = "error: too many clients\n\n";
        (void)!::send(res, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(res);
        ++rejected;
        return;
    }
    conn& c = conns.try_emplace(res, stats_session(report, limits, o == op_accept_tcp)).first->second;
    c.last_activity_ns = now;
    arm_recv(res, c);
}

// Request bytes: the session answers and says whether to read on, close after the answer, or drop.
void stats_server::impl::on_recv(int fd, int res, std::int64_t now) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    conn& c = it->second;
    c.recv_armed = false;
    if (res <= 0 || c.closing) {
        close_conn(fd);
        return;
    }
    c.last_activity_ns = now;
    switch (c.session.feed({c.buf, static_cast<std::size_t>(res)}, c.out)) {
        case stats_session::next::drop: close_conn(fd); break;
        case stats_session::next::close_after_send:
            c.closing = true;
            arm_send(fd, c);
            break;
        case stats_session::next::read_more:
            arm_send(fd, c);
            arm_recv(fd, c);
            break;
    }
}

// Part of an answer sent: send the rest and what was queued meanwhile, then close if asked to.
void stats_server::impl::on_send(int fd, int res, std::int64_t now) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    conn& c = it->second;
    c.send_armed = false;
    if (res <= 0) {
        c.closing = true;
        close_conn(fd);
        return;
    }
    c.last_activity_ns = now;
    c.sent += static_cast<std::size_t>(res);
    if (c.sent < c.sending.size() || !c.out.empty()) {
        arm_send(fd, c);
    } else if (c.closing) {
        close_conn(fd);
    }
}

void stats_server::impl::arm_accept(int fd, op o) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, pack(o, fd));
}

void stats_server::impl::arm_tick() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_timeout(sqe, &tick, 0, 0);
    io_uring_sqe_set_data64(sqe, pack(op_tick, 0));
}

void stats_server::impl::arm_recv(int fd, conn& c) {
    if (c.recv_armed || c.closing) return;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv(sqe, fd, c.buf, sizeof c.buf, 0);
    io_uring_sqe_set_data64(sqe, pack(op_recv, fd));
    c.recv_armed = true;
}

// One send in flight per connection: the answer being sent, then what queued up behind it.
void stats_server::impl::arm_send(int fd, conn& c) {
    if (c.send_armed) return;
    if (c.sent >= c.sending.size()) {
        if (c.out.empty()) return;
        c.sending.swap(c.out);
        c.out.clear();
        c.sent = 0;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_send(sqe, fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(op_send, fd));
    c.send_armed = true;
}

void stats_server::impl::close_conn(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    // With an operation still in flight, shut down so it completes, close later.
    if (it->second.recv_armed || it->second.send_armed) {
        it->second.closing = true;
        ::shutdown(fd, SHUT_RDWR);
        return;
    }
    ::close(fd);
    conns.erase(it);
}

}  // namespace sluice
