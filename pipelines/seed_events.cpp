// Event synthesis in the shapes of the seed systems' producers.
#include "seed_events.hpp"

#include <cstdio>

#include "base/json_writer.hpp"
#include "base/timestamp.hpp"

namespace sluice {

seed_generator::seed_generator(std::uint64_t seed) : rng_(seed), user_base_(seed * 1'000'000) {}

void seed_generator::uuid(std::string& out) {
    const std::uint64_t a = rng_(), b = rng_();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
                  (static_cast<unsigned>(b >> 48) & 0x3fff) | 0x8000,
                  static_cast<unsigned long long>(b & 0xffffffffffffull));
    out.assign(buf);
}

std::uint64_t seed_generator::existing_user() {
    return user_base_ + 1 + rng_() % users_;
}

void seed_generator::user_created(seed_event& out, const char* ts) {
    const std::uint64_t id = user_base_ + ++users_;
    out.topic = "user.created";
    out.type = "user.created";
    out.key = std::to_string(id);
    out.value.clear();
    json_writer w(out.value);
    const std::string name = "user" + std::to_string(id);
    w.begin_object().field("eventType", "user.created").field("userId", static_cast<std::uint64_t>(id))
        .field("timestamp", ts);
    w.key("payload").begin_object().field("email", std::string_view(name + "@example.com"))
        .field("username", std::string_view(name)).end_object();
    w.end_object();
}

void seed_generator::task(seed_event& out, const char* ts, bool completed) {
    const std::uint64_t task_id = 1 + rng_() % 20000;
    const std::uint64_t creator = existing_user();
    const std::uint64_t actor = rng_() % 2 ? creator : existing_user();
    const unsigned a = static_cast<unsigned>(rng_() % 10);
    out.topic = completed ? "task.completed" : "task.updated";
    out.type = out.topic;
    out.key = std::to_string(task_id);
    out.value.clear();
    json_writer w(out.value);
    w.begin_object().field("eventType", out.type).field("taskId", static_cast<std::uint64_t>(task_id))
        .field("teamId", static_cast<std::uint64_t>(1 + rng_() % 50))
        .field("actorId", static_cast<std::uint64_t>(actor))
        .field("creatorId", static_cast<std::uint64_t>(creator));
    if (a < 2) w.key("assigneeId").null();                    // unassigned
    else if (a < 4) w.field("assigneeId", static_cast<std::uint64_t>(creator));  // self-assigned
    else w.field("assigneeId", static_cast<std::uint64_t>(existing_user()));
    w.field("timestamp", ts);
    w.key("payload").begin_object();
    if (completed) w.field("completed", true);
    else w.field("title", std::string_view("Task " + std::to_string(task_id))).field("completed", false);
    w.end_object().end_object();
}

void seed_generator::portfolio(seed_event& out, const char* ts, std::string_view type, std::string_view topic) {
    out.topic = topic;
    out.type = type;
    std::string event_id;
    uuid(event_id);
    out.value.clear();
    json_writer w(out.value);
    w.begin_object().field("event_id", std::string_view(event_id)).field("event_type", type)
        .field("timestamp", ts).field("source", "backend").field("version", "1.0");
    w.key("data").begin_object();
    if (type.starts_with("article.") && type != "article.view") {
        const std::uint64_t n = 1 + rng_() % 500;
        out.key = "article-" + std::to_string(n);
        w.field("article_id", std::string_view(out.key)).field("title", std::string_view("Article " + std::to_string(n)))
            .field("slug", std::string_view("article-" + std::to_string(n)))
            .field("author_id", std::string_view(std::to_string(existing_user())))
            .field("created_at", ts);
    } else if (type.starts_with("project.") && type != "project.view") {
        const std::uint64_t n = 1 + rng_() % 200;
        out.key = "project-" + std::to_string(n);
        w.field("project_id", std::string_view(out.key)).field("name", std::string_view("Project " + std::to_string(n)))
            .field("github_url", std::string_view("https://github.com/user/repo" + std::to_string(n)))
            .field("author_id", std::string_view(std::to_string(existing_user())))
            .field("created_at", ts);
    } else if (type == "article.view" || type == "project.view") {
        // Views follow a skewed popularity: a few entities get most of them.
        const std::uint64_t r = rng_() % 1000;
        const std::uint64_t n = 1 + (r < 500 ? r % 10 : r % (type == "article.view" ? 500 : 200));
        out.key = (type == "article.view" ? "article-" : "project-") + std::to_string(n);
        w.field(type == "article.view" ? "article_id" : "project_id", std::string_view(out.key))
            .field("user_id", std::string_view(std::to_string(existing_user())));
    } else if (type == "page.view" || type == "user.action") {
        const std::uint64_t user = existing_user();
        out.key = std::to_string(user);
        w.field("user_id", std::string_view(out.key));
        if (type == "page.view") w.field("path", std::string_view("/blog/page-" + std::to_string(rng_() % 100)));
        else w.field("action", rng_() % 2 ? "like" : "share");
    } else {  // email.send, notification.create
        const std::uint64_t user = existing_user();
        out.key = std::to_string(user);
        w.field("recipient_id", std::string_view(out.key))
            .field("subject", type == "email.send" ? "Your weekly digest" : "You have a new follower");
    }
    w.end_object().end_object();
}

void seed_generator::next(seed_event& out, std::int64_t wall_ns) {
    char ts[40];
    ts[format_iso8601_ms(wall_ns, ts)] = '\0';
    // Start with a few users so every later reference resolves.
    const unsigned r = users_ < 20 ? 0 : static_cast<unsigned>(rng_() % 1000);
    if (r < 30) return user_created(out, ts);
    if (r < 180) return task(out, ts, false);
    if (r < 250) return task(out, ts, true);
    static constexpr std::string_view article_types[] = {"article.created", "article.updated", "article.published",
                                                         "article.unpublished", "article.deleted"};
    static constexpr std::string_view project_types[] = {"project.created", "project.updated", "project.featured",
                                                         "project.deleted"};
    if (r < 330) return portfolio(out, ts, article_types[rng_() % 5], "portfolio.articles");
    if (r < 380) return portfolio(out, ts, project_types[rng_() % 4], "portfolio.projects");
    if (r < 630) return portfolio(out, ts, "page.view", "portfolio.analytics");
    if (r < 780) return portfolio(out, ts, "article.view", "portfolio.analytics");
    if (r < 880) return portfolio(out, ts, "project.view", "portfolio.analytics");
    if (r < 930) return portfolio(out, ts, "user.action", "portfolio.analytics");
    if (r < 970) return portfolio(out, ts, "email.send", "portfolio.notifications");
    return portfolio(out, ts, "notification.create", "portfolio.notifications");
}

}  // namespace sluice
