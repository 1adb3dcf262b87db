// Request framing and limits of the stats protocol (line and HTTP).
#include "stats/stats_session.hpp"

#include "stats/live_page.hpp"

namespace sluice {

stats_session::next stats_session::feed(std::string_view bytes, std::string& out) {
    in_.append(bytes);
    return http_ ? feed_http(out) : feed_lines(out);
}

stats_session::next stats_session::feed_http(std::string& out) {
    const std::string_view req(in_);
    if (req.find("\r\n\r\n") == std::string_view::npos && req.find("\n\n") == std::string_view::npos) {
        if (in_.size() <= limits_.max_line_bytes) return next::read_more;
        out = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return next::close_after_send;
    }
    // Request line: GET PATH HTTP/1.x
    std::string_view path;
    if (req.rfind("GET ", 0) == 0) {
        const auto end = req.find_first_of(" \r\n", 4);
        path = req.substr(4, end == std::string_view::npos ? std::string_view::npos : end - 4);
    }
    const http_reply r = reply_to_get(path);
    out = "HTTP/1.1 " + r.status + "\r\nContent-Type: " + r.type + "\r\nContent-Length: " +
          std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
    return next::close_after_send;
}

stats_session::http_reply stats_session::reply_to_get(std::string_view path) const {
    http_reply r{"200 OK", "text/plain; version=0.0.4; charset=utf-8", {}};
    if (path == "/metrics") {
        r.body = report_.prometheus();
    } else if (path == "/stats") {
        r.body = report_.stats_json();
        r.type = "application/json";
    } else if (path == "/buckets") {
        r.body = report_.buckets_json();
        r.type = "application/json";
    } else if (path == "/" || path == "/index.html") {
        r.body = live_page_html;
        r.type = "text/html; charset=utf-8";
    } else if (path == "/health" || path == "/ready") {
        const stats_report::probe p = path == "/health" ? report_.health() : report_.ready();
        if (!p.ok) r.status = "503 Service Unavailable";
        r.body = p.text + "\n";
    } else if (path.rfind("/hist/", 0) == 0) {
        r.body = report_.hist(path.substr(6));
    } else {
        r.status = "404 Not Found";
        r.body = "not found: use /, /metrics or /stats\n";
    }
    return r;
}

stats_session::next stats_session::feed_lines(std::string& out) {
    std::size_t start = 0, nl;
    while ((nl = in_.find('\n', start)) != std::string::npos) {
        std::string_view line = std::string_view(in_).substr(start, nl - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        std::string answer = line == "interval" ? report_.interval(interval_) : report_.answer(line);
        answer += "\n\n";
        start = nl + 1;
        // A client that does not read: drop it rather than grow without bound.
        if (out.size() + answer.size() > limits_.max_output_bytes) return next::drop;
        out += answer;
    }
    in_.erase(0, start);
    if (in_.size() > limits_.max_line_bytes) {
        in_.clear();
        out += "error: line longer than " + std::to_string(limits_.max_line_bytes) + " bytes\n\n";
        return next::close_after_send;
    }
    return next::read_more;
}

}  // namespace sluice
