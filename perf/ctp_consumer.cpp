// The consume-transform-produce loop a user could write in an afternoon: one
// thread, a librdkafka consumer with sluice's settings read the way sluice's
// source reads (rd_kafka_consumer_poll, one message per call), a simdjson
// decode of each event, and the records sluice's three sinks would write
// under config/production.toml, produced from the same thread through one
// producer with sluice's producer defaults plus the given properties.
//
// The records match the sinks' by topic, key, count and shape:
//   enriched.events       one per task.*, article.* and project.* change event
//                         (not views): ids joined against the user directory;
//   notifications.outbox  task.*: the creator and the assignee unless they
//                         acted themselves; user.created: a welcome;
//                         email.send and notification.create: the addressee;
//                         duplicates (by event key, last 65536) dropped;
//   analytics.rollups     one per 60 s event-time window (counts per type,
//                         distinct users, top 10 viewed articles/projects),
//                         closed by the first event past its end and at the end.
// The user directory is the user.created topic for sluice; it is empty where
// the benchmark runs this (every event is in one input topic), so here it is
// an empty map looked up just as often. Trace headers are not carried (the
// benchmark's events have none). Offsets are not committed.
//
// Usage: ctp_consumer BOOTSTRAP GROUP TOPIC[,TOPIC...] [-X PRODUCER_PROPERTY=VALUE ...]
// Prints one line, timed from the first event consumed to the last delivery report:
//   ctp: N events, B bytes in S s (R events/s) records M (Q records/s) enriched E
//   notifications O rollups U failed F cpu C s
// Exits 1 if a record failed or a delivery report is missing, 2 on usage.
#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "backlog_reader.hpp"
#include "base/timestamp.hpp"
#include "kafka/kafka_handles.hpp"

using namespace sluice;
namespace od = simdjson::ondemand;

namespace {

constexpr const char* enriched_topic = "enriched.events";
constexpr const char* notifications_topic = "notifications.outbox";
constexpr const char* rollups_topic = "analytics.rollups";
constexpr std::int64_t window_ns = 60'000'000'000;  // sinks.analytics.window.ms
constexpr std::size_t top_k = 10;                  // sinks.analytics.top.k
constexpr std::size_t dedup_capacity = 65536;      // sinks.notification.dedup.capacity

// A JSON object written into a string, with string escaping.
struct json_out {
    std::string& s;
    bool first = true;

    json_out& begin() {
        s.push_back('{');
        first = true;
        return *this;
    }
    json_out& end() {
        s.push_back('}');
        first = false;
        return *this;
    }
    json_out& key(std::string_view k) {
        if (!first) s.push_back(',');
        first = false;
        quote(k);
        s.push_back(':');
        return *this;
    }
    void quote(std::string_view v) {
        s.push_back('"');
        for (const char c : v) {
            if (c == '"' || c == '\\') {
                s.push_back('\\');
                s.push_back(c);
            } else if (static_cast<unsigned char>(c) < 0x20) {
                char u[8];
                std::snprintf(u, sizeof u, "\\u%04x", static_cast<unsigned>(c));
                s.append(u);
            } else {
                s.push_back(c);
            }
        }
        s.push_back('"');
    }
    json_out& str(std::string_view k, std::string_view v) {
        key(k);
        quote(v);
        return *this;
    }
    json_out& str_or_null(std::string_view k, std::string_view v) {
        key(k);
        if (v.empty()) s.append("null");
        else quote(v);
        return *this;
    }
    json_out& num(std::string_view k, std::int64_t v) {
        key(k);
        char b[24];
        s.append(b, static_cast<std::size_t>(std::to_chars(b, b + sizeof b, v).ptr - b));
        return *this;
    }
    json_out& boolean(std::string_view k, bool v) {
        key(k);
        s.append(v ? "true" : "false");
        return *this;
    }
};

// What the sinks read of an event (views into the payload or the parser).
struct event {
    bool task_style = false;
    std::string_view type, event_id, timestamp;
    std::int64_t ts_ns = 0;
    std::string_view entity, user, author, actor, creator, assignee;
    std::string_view title, recipient, email, username;
};

std::string_view trim(std::string_view t) {
    while (!t.empty() && (t.back() == ' ' || t.back() == '\n' || t.back() == '\r' || t.back() == '\t')) t.remove_suffix(1);
    return t;
}

// An id: a JSON string's text, a number's digits, null as empty.
bool id_of(od::value v, std::string_view& out) {
    const std::string_view tok = trim(v.raw_json_token());
    if (tok.empty()) return false;
    if (tok[0] == '"') return !v.get_string().get(out);
    out = tok == "null" ? std::string_view() : tok;
    return true;
}

bool text_of(od::value v, std::string_view& out) { return !v.get_string().get(out); }

bool decode(od::parser& parser, std::string& padded, const char* payload, std::size_t len, event& e) {
    padded.assign(payload, len);
    padded.append(simdjson::SIMDJSON_PADDING, '\0');
    od::document doc;
    od::object obj;
    if (parser.iterate(padded.data(), len, padded.size()).get(doc) || doc.get_object().get(obj)) return false;
    e = event{};
    for (auto field : obj) {
        std::string_view k;
        if (field.unescaped_key().get(k)) return false;
        od::value v = field.value();
        bool ok = true;
        if (k == "event_type") ok = text_of(v, e.type);
        else if (k == "eventType") ok = text_of(v, e.type), e.task_style = true;
        else if (k == "event_id") ok = id_of(v, e.event_id);
        else if (k == "timestamp") ok = text_of(v, e.timestamp);
        else if (k == "userId") ok = id_of(v, e.user);
        else if (k == "taskId") ok = id_of(v, e.entity);
        else if (k == "actorId") ok = id_of(v, e.actor);
        else if (k == "creatorId") ok = id_of(v, e.creator);
        else if (k == "assigneeId") ok = id_of(v, e.assignee);
        else if (k == "data" || k == "payload") {
            od::object inner;
            if (v.get_object().get(inner)) return false;
            for (auto f : inner) {
                std::string_view ik;
                if (f.unescaped_key().get(ik)) return false;
                od::value iv = f.value();
                if (ik == "article_id" || ik == "project_id") ok = id_of(iv, e.entity);
                else if (ik == "path" && e.entity.empty()) ok = text_of(iv, e.entity);
                else if (ik == "author_id") ok = id_of(iv, e.author);
                else if (ik == "user_id") ok = id_of(iv, e.user);
                else if (ik == "title" || ik == "name" || ik == "subject") ok = text_of(iv, e.title);
                else if (ik == "to" || ik == "recipient" || ik == "recipient_id") ok = id_of(iv, e.recipient);
                else if (ik == "email") ok = text_of(iv, e.email);
                else if (ik == "username" && k == "payload") ok = text_of(iv, e.username);
                if (!ok) return false;
            }
        }
        if (!ok) return false;
    }
    const auto ns = parse_iso8601_ns(e.timestamp);
    if (e.type.empty() || !ns) return false;
    e.ts_ns = *ns;
    return true;
}

// The default routing (seed_routes(), pipelines/seed_config.cpp): analytics takes every type.
bool notifies(std::string_view type) {
    return type.starts_with("task.") || type == "user.created" || type == "email.send" || type == "notification.create";
}

bool enriches(std::string_view type) {
    if (type.starts_with("task.")) return true;
    if (type.starts_with("article.") || type.starts_with("project."))
        return type != "article.view" && type != "project.view";
    return false;
}

struct user {
    std::string email, username;
};

struct delivery_count {
    std::uint64_t delivered = 0, failed = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* c = static_cast<delivery_count*>(opaque);
    if (m->err) ++c->failed;
    else ++c->delivered;
}

// The analytics sink's tumbling window.
struct window {
    bool open = false;
    std::int64_t start = 0, end = 0;
    std::uint64_t events = 0, late = 0;
    std::vector<std::pair<std::string, std::uint64_t>> counts;  // a handful of types
    std::unordered_map<std::string, std::uint64_t> top_articles, top_projects;
    std::unordered_set<std::uint64_t> users;

    void reset(std::int64_t ts) {
        start = ts - ((ts % window_ns) + window_ns) % window_ns;
        end = start + window_ns;
        events = late = 0;
        counts.clear();
        top_articles.clear();
        top_projects.clear();
        users.clear();
        open = true;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4 || (argc - 4) % 2 != 0) {
        std::fprintf(stderr, "usage: ctp_consumer BOOTSTRAP GROUP TOPIC[,TOPIC...] [-X PRODUCER_PROPERTY=VALUE ...]\n");
        return 2;
    }
    std::map<std::string, std::string> producer_props;
    for (int i = 4; i < argc; i += 2) {
        const std::string_view kv = argv[i + 1];
        const auto eq = kv.find('=');
        if (std::strcmp(argv[i], "-X") != 0 || eq == std::string_view::npos || eq == 0) {
            std::fprintf(stderr, "usage: ctp_consumer BOOTSTRAP GROUP TOPIC[,TOPIC...] [-X PRODUCER_PROPERTY=VALUE ...]\n");
            return 2;
        }
        producer_props[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }

    kafka_config conf;
    conf.set_all(consumer_defaults());
    conf.set("auto.offset.reset", "earliest");  // as bare_consumer: librdkafka resolves the start
    conf.set("bootstrap.servers", argv[1]);
    conf.set("group.id", argv[2]);
    kafka_handle rk = conf.make(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk.get());

    delivery_count deliveries;
    kafka_handle producer = make_producer(argv[1], producer_props, &deliveries, &on_delivery);
    rd_kafka_topic_t* enriched = rd_kafka_topic_new(producer.get(), enriched_topic, nullptr);
    rd_kafka_topic_t* notifications = rd_kafka_topic_new(producer.get(), notifications_topic, nullptr);
    rd_kafka_topic_t* rollups = rd_kafka_topic_new(producer.get(), rollups_topic, nullptr);

    std::vector<std::string> topics;
    for (char* t = std::strtok(argv[3], ","); t; t = std::strtok(nullptr, ",")) topics.emplace_back(t);
    partition_list subs(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(subs.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk.get(), subs.get())) return 1;

    std::uint64_t produced = 0, n_enriched = 0, n_notified = 0, n_rollups = 0, produce_errors = 0;
    auto produce = [&](rd_kafka_topic_t* topic, std::string_view key, const std::string& value) {
        for (;;) {
            if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()),
                                 value.size(), key.empty() ? nullptr : key.data(), key.size(), nullptr) == 0) {
                ++produced;
                return;
            }
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                ++produce_errors;
                return;
            }
            rd_kafka_poll(producer.get(), 10);  // room comes with delivery reports
        }
    };

    std::unordered_map<std::string, user> directory;  // see the file comment
    std::string lookup;
    auto find_user = [&](std::string_view id) -> const user* {
        lookup.assign(id);
        auto it = directory.find(lookup);
        return it == directory.end() ? nullptr : &it->second;
    };
    std::unordered_set<std::uint64_t> seen;
    std::vector<std::uint64_t> seen_order(dedup_capacity);
    std::size_t seen_next = 0;
    const std::hash<std::string_view> hash;
    window win;
    std::string record, key_buf, id_buf, top_key;
    record.reserve(1024);

    auto event_key = [&](const event& e) -> std::string_view {
        if (!e.event_id.empty()) return e.event_id;
        key_buf.assign(e.type).append(":").append(e.entity.empty() ? e.user : e.entity).append(":").append(e.actor).append(":");
        char b[24];
        key_buf.append(b, static_cast<std::size_t>(std::to_chars(b, b + sizeof b, e.ts_ns).ptr - b));
        return key_buf;
    };

    auto enrich = [&](const event& e, std::string_view key, const char* topic, std::int32_t partition, std::int64_t offset) {
        record.clear();
        json_out w{record};
        w.begin().str("event_id", key).str("event_type", e.type).str("timestamp", e.timestamp);
        if (!e.entity.empty()) w.str("entity_id", e.entity);
        if (!e.title.empty()) w.str("title", e.title);
        bool partial = false;
        auto person = [&](std::string_view role, std::string_view id) {
            if (id.empty()) return;
            const user* u = find_user(id);
            if (!u) partial = true;
            w.key(role).begin().str("id", id);
            w.str_or_null("email", u ? std::string_view(u->email) : std::string_view());
            w.str_or_null("username", u ? std::string_view(u->username) : std::string_view());
            w.end();
        };
        person("creator", e.creator);
        person("assignee", e.assignee);
        person("actor", e.actor);
        person("author", e.author);
        if (!e.task_style) person("user", e.user);
        w.boolean("partial", partial);
        w.key("source").begin().str("topic", topic).num("partition", partition).num("offset", offset).end();
        w.end();
        produce(enriched, e.entity, record);
        ++n_enriched;
    };

    auto notify = [&](const event& e, std::string_view key, std::string_view kind, std::string_view to,
                      std::string_view email, std::string_view username) {
        id_buf.assign(key).append(":").append(to);
        record.clear();
        json_out w{record};
        w.begin().str("notification_id", id_buf).str("kind", kind).str("event_type", e.type).str("event_id", key)
            .str("recipient_id", to).str_or_null("email", email).str_or_null("username", username);
        if (!e.entity.empty()) w.str("entity_id", e.entity);
        if (!e.title.empty()) w.str("title", e.title);
        w.str("timestamp", e.timestamp).end();
        produce(notifications, to, record);
        ++n_notified;
    };

    auto notifications_of = [&](const event& e) {
        const std::string_view key = event_key(e);
        const std::uint64_t h = hash(key);
        if (!seen.insert(h).second) return;  // a duplicate
        if (seen.size() > dedup_capacity) seen.erase(seen_order[seen_next]);
        seen_order[seen_next] = h;
        seen_next = (seen_next + 1) % dedup_capacity;
        auto known = [&](std::string_view id) {
            const user* u = find_user(id);
            notify(e, key, e.type, id, u ? std::string_view(u->email) : std::string_view(),
                   u ? std::string_view(u->username) : std::string_view());
        };
        if (e.type.starts_with("task.")) {
            if (!e.creator.empty() && e.creator != e.actor) known(e.creator);
            if (!e.assignee.empty() && e.assignee != e.creator && e.assignee != e.actor) known(e.assignee);
        } else if (e.type == "user.created") {
            notify(e, key, "welcome", e.user, e.email, e.username);
        } else if (e.type == "email.send" || e.type == "notification.create") {
            std::string_view to = !e.recipient.empty() ? e.recipient : !e.user.empty() ? e.user : e.email;
            if (to.empty()) return;
            const user* u = find_user(to);
            std::string_view email = e.email;
            if (email.empty() && u) email = u->email;
            if (email.empty() && to.find('@') != std::string_view::npos) email = to;
            notify(e, key, e.type, to, email, u ? std::string_view(u->username) : std::string_view());
        }
    };

    auto close_window = [&](const char* reason) {
        if (!win.open) return;
        record.clear();
        json_out w{record};
        char a[40], b[40];
        w.begin().str("window_start", std::string_view(a, format_iso8601_ms(win.start, a)))
            .str("window_end", std::string_view(b, format_iso8601_ms(win.end, b)))
            .boolean("final", true).str("closed_by", reason)
            .num("events", static_cast<std::int64_t>(win.events)).num("late_events", static_cast<std::int64_t>(win.late))
            .num("unique_users", static_cast<std::int64_t>(win.users.size()));
        w.key("counts").begin();
        for (const auto& [type, n] : win.counts) w.num(type, static_cast<std::int64_t>(n));
        w.end();
        auto list = [&](std::string_view name, const std::unordered_map<std::string, std::uint64_t>& views) {
            std::vector<std::pair<std::string_view, std::uint64_t>> top(views.begin(), views.end());
            const std::size_t k = std::min(top_k, top.size());
            std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(k), top.end(),
                              [](const auto& x, const auto& y) { return x.second > y.second || (x.second == y.second && x.first < y.first); });
            w.key(name);
            record.push_back('[');
            for (std::size_t i = 0; i < k; ++i) {
                if (i) record.push_back(',');
                w.begin().str("id", top[i].first).num("views", static_cast<std::int64_t>(top[i].second)).end();
            }
            record.push_back(']');
        };
        list("top_articles", win.top_articles);
        list("top_projects", win.top_projects);
        w.end();
        char k[24];
        produce(rollups, std::string_view(k, static_cast<std::size_t>(std::to_chars(k, k + sizeof k, win.start / 1'000'000).ptr - k)), record);
        ++n_rollups;
        win.open = false;
    };

    auto count = [&](const event& e) {
        if (!win.open || e.ts_ns >= win.end) {
            close_window("window end");
            win.reset(e.ts_ns);
        }
        if (e.ts_ns < win.start) ++win.late;
        ++win.events;
        auto c = std::find_if(win.counts.begin(), win.counts.end(), [&](const auto& p) { return p.first == e.type; });
        if (c == win.counts.end()) win.counts.emplace_back(std::string(e.type), 1);
        else ++c->second;
        if (e.type == "article.view" || e.type == "project.view") {
            top_key.assign(e.entity);
            ++(e.type == "article.view" ? win.top_articles : win.top_projects)[top_key];
        }
        const std::string_view who = !e.user.empty() ? e.user : !e.actor.empty() ? e.actor : e.author;
        if (!who.empty()) win.users.insert(hash(who));
    };

    std::map<std::pair<std::string, int>, std::int64_t> remaining;
    od::parser parser;
    std::string padded;
    std::uint64_t events = 0, bytes = 0, rejected = 0;
    std::chrono::steady_clock::time_point first{};
    rd_kafka_message_t* batch[256];
    bool started = false;
    event e;
    for (;;) {
        // The consume call sluice's source uses, as bare_consumer does.
        const int n = bench::poll_batch(rk.get(), batch, 256);
        if (n > 0 && first == std::chrono::steady_clock::time_point{}) first = std::chrono::steady_clock::now();
        if (!started) {
            const int ends = bench::backlog_ends(rk.get(), remaining);
            if (ends < 0) return 1;
            started = ends > 0;
        }
        for (int i = 0; i < n; ++i) {
            rd_kafka_message_t* m = batch[i];
            if (!m->err && m->payload) {
                ++events;
                bytes += m->len;
                const char* topic = rd_kafka_topic_name(m->rkt);
                if (decode(parser, padded, static_cast<const char*>(m->payload), m->len, e)) {
                    if (enriches(e.type)) enrich(e, event_key(e), topic, m->partition, m->offset);
                    if (notifies(e.type)) notifications_of(e);
                    count(e);
                } else {
                    ++rejected;  // sluice would dead-letter it
                }
                auto it = remaining.find({topic, m->partition});
                if (it != remaining.end() && m->offset + 1 >= it->second) remaining.erase(it);
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer.get(), 0);  // delivery reports
        if (started && remaining.empty()) break;
    }
    close_window("shutdown");
    rd_kafka_flush(producer.get(), 120000);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    const std::uint64_t failed = deliveries.failed + produce_errors;
    std::printf("ctp: %llu events, %llu bytes in %.3f s (%.0f events/s) records %llu (%.0f records/s) enriched %llu "
                "notifications %llu rollups %llu failed %llu cpu %.2f s\n",
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes), secs,
                secs > 0 ? double(events) / secs : 0.0, static_cast<unsigned long long>(produced),
                secs > 0 ? double(produced) / secs : 0.0, static_cast<unsigned long long>(n_enriched),
                static_cast<unsigned long long>(n_notified), static_cast<unsigned long long>(n_rollups),
                static_cast<unsigned long long>(failed), cpu);
    if (rejected) std::fprintf(stderr, "ctp_consumer: %llu events not decoded\n", static_cast<unsigned long long>(rejected));
    const bool complete = deliveries.delivered == produced && failed == 0;
    if (!complete)
        std::fprintf(stderr, "ctp_consumer: %llu of %llu records confirmed, %llu failed\n",
                     static_cast<unsigned long long>(deliveries.delivered), static_cast<unsigned long long>(produced),
                     static_cast<unsigned long long>(failed));
    rd_kafka_topic_destroy(enriched);
    rd_kafka_topic_destroy(notifications);
    rd_kafka_topic_destroy(rollups);
    rd_kafka_consumer_close(rk.get());
    return complete ? 0 : 1;
}
