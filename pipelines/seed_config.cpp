// The seed domain's configuration, and the keys its sinks read.
#include "seed_config.hpp"

#include "analytics_sink.hpp"
#include "config/config_registry.hpp"
#include "directory_follower.hpp"
#include "notification_sink.hpp"

namespace sluice {
namespace {

void register_seed_keys(config_registry& keys) {
    register_directory_keys(keys);
    register_notification_keys(keys);
    register_analytics_keys(keys);
}

std::vector<std::pair<std::string, std::string>> seed_topics_read(const settings& s) {
    const seed_sink_settings& own = seed_sink_settings_of(s);
    if (own.directory_topic.empty()) return {};
    return {{own.directory_topic, "sinks.enrichment.directory.topic"}};
}

config_domain make_seed_domain() {
    config_domain d;
    d.sink_names = {"enrichment", "notification", "analytics"};
    d.topics = {{"portfolio.articles", 3},      {"portfolio.projects", 3}, {"portfolio.analytics", 6},
                {"portfolio.notifications", 3}, {"user.created", 3},       {"task.updated", 3},
                {"task.completed", 3}};
    d.outputs = {{"enrichment", {output_spec::kind::kafka, "enriched.events"}},
                 {"notification", {output_spec::kind::kafka, "notifications.outbox"}},
                 {"analytics", {output_spec::kind::kafka, "analytics.rollups"}}};
    // The seed systems' routes: what each sink does with which type.
    const std::vector<std::string> all = {"enrichment", "notification", "analytics"};
    const std::vector<std::string> enrich_count = {"enrichment", "analytics"};
    const std::vector<std::string> notify_count = {"notification", "analytics"};
    const std::vector<std::string> count = {"analytics"};
    auto& r = d.routes;
    r["user.created"] = notify_count;
    r["task.updated"] = all;
    r["task.completed"] = all;
    for (auto t : {"article.created", "article.updated", "article.deleted", "article.published", "article.unpublished",
                   "project.created", "project.updated", "project.deleted", "project.featured"})
        r[t] = enrich_count;
    for (auto t : {"page.view", "article.view", "project.view", "user.action"}) r[t] = count;
    r["email.send"] = notify_count;
    r["notification.create"] = notify_count;
    r["default"] = count;
    d.sink_settings = seed_sink_settings{};
    d.register_keys = register_seed_keys;
    d.topics_read = seed_topics_read;
    return d;
}

}  // namespace

std::shared_ptr<const config_domain> seed_domain() {
    static const auto d = std::make_shared<const config_domain>(make_seed_domain());
    return d;
}

const seed_sink_settings& seed_sink_settings_of(const settings& s) {
    return domain_part<seed_sink_settings>(s.sink_settings);
}

const std::vector<std::string>& seed_topics() {
    static const std::vector<std::string> t = [] {
        std::vector<std::string> v;
        for (const auto& [topic, partitions] : seed_domain()->topics) v.push_back(topic);
        return v;
    }();
    return t;
}

const std::map<std::string, std::vector<std::string>>& seed_routes() { return seed_domain()->routes; }

settings load_settings(const std::string& path, const std::vector<std::string>& overrides) {
    return load_settings(seed_domain(), path, overrides);
}

settings parse_settings(std::string_view text, const std::string& origin, const std::vector<std::string>& overrides) {
    return parse_settings(seed_domain(), text, origin, overrides);
}

}  // namespace sluice
