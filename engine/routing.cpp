// Builds the routing masks from named rules.
#include "routing.hpp"

#include <stdexcept>

namespace sluice {

std::map<std::string, std::vector<std::string>> routing_table::default_rules() {
    const std::vector<std::string> all = {"enrichment", "notification", "analytics"};
    const std::vector<std::string> enrich_count = {"enrichment", "analytics"};
    const std::vector<std::string> notify_count = {"notification", "analytics"};
    const std::vector<std::string> count = {"analytics"};
    std::map<std::string, std::vector<std::string>> r;
    r["user.created"] = notify_count;
    r["task.updated"] = all;
    r["task.completed"] = all;
    for (auto t : {"article.created", "article.updated", "article.deleted", "article.published",
                   "article.unpublished", "project.created", "project.updated",
                   "project.deleted", "project.featured"})
        r[t] = enrich_count;
    for (auto t : {"page.view", "article.view", "project.view", "user.action"}) r[t] = count;
    r["email.send"] = notify_count;
    r["notification.create"] = notify_count;
    r["default"] = count;
    return r;
}

routing_table::routing_table(const std::vector<std::string>& sink_names,
                             const std::map<std::string, std::vector<std::string>>& rules,
                             type_registry& types) {
    if (sink_names.size() > max_sinks) throw std::invalid_argument("too many sinks");
    for (const auto& [type, sinks] : rules) {
        sink_mask mask = 0;
        for (const auto& s : sinks) {
            std::size_t i = 0;
            while (i < sink_names.size() && sink_names[i] != s) ++i;
            if (i == sink_names.size())
                throw std::invalid_argument("routing." + type + ": unknown sink '" + s +
                                            "' (sinks are enrichment, notification, analytics)");
            mask = static_cast<sink_mask>(mask | (1u << i));
        }
        if (type == "default") {
            default_mask_ = mask;
            continue;
        }
        const type_id id = types.intern(type);
        if (id == type_registry::none)
            throw std::invalid_argument("routing." + type + ": too many event types or name too long");
        masks_[id] = mask;
        has_rule_[id] = true;
    }
}

}  // namespace sluice
