// Reading a dead-letter topic, sending its records back, committing the progress.
#include "dead_letter/redrive.hpp"

#include <charconv>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "dead_letter/dead_letter_record.hpp"
#include "kafka/kafka_handles.hpp"

namespace sluice {

namespace {

struct header_list_deleter {
    void operator()(rd_kafka_headers_t* h) const noexcept { rd_kafka_headers_destroy(h); }
};
using header_list = std::unique_ptr<rd_kafka_headers_t, header_list_deleter>;

std::string header(rd_kafka_headers_t* h, const char* name, bool& found) {
    const void* v = nullptr;
    std::size_t size = 0;
    found = h && rd_kafka_header_get_last(h, name, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
    return found && v ? std::string(static_cast<const char*>(v), size) : std::string();
}

struct delivery_count {
    std::uint64_t delivered = 0, failed = 0;
    std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* c = static_cast<delivery_count*>(opaque);
    if (!m->err) {
        ++c->delivered;
        return;
    }
    if (c->failed++ == 0) c->first_error = rd_kafka_err2str(m->err);
}

}  // namespace

redrive_result redrive(const redrive_options& o, std::FILE* log) {
    redrive_result res;
    kafka_config conf;
    conf.set("bootstrap.servers", o.bootstrap);
    conf.set("group.id", o.group);
    conf.set("enable.auto.commit", "false");
    conf.set("enable.auto.offset.store", "false");
    conf.set("auto.offset.reset", "earliest");
    kafka_handle consumer = conf.make(RD_KAFKA_CONSUMER);

    // The partitions of the dead-letter topic, where the group left off, and their ends now.
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(consumer.get(), o.topic.c_str(), nullptr);
    const rd_kafka_resp_err_t merr = rd_kafka_metadata(consumer.get(), 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (merr) throw std::runtime_error("redrive: metadata of " + o.topic + ": " + rd_kafka_err2str(merr));
    int partitions = 0;
    if (md->topic_cnt == 1 && !md->topics[0].err) partitions = md->topics[0].partition_cnt;
    const rd_kafka_resp_err_t terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    rd_kafka_metadata_destroy(md);
    if (partitions == 0) throw std::runtime_error("redrive: topic " + o.topic + ": " + rd_kafka_err2str(terr));

    partition_list committed(rd_kafka_topic_partition_list_new(partitions));
    for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(committed.get(), o.topic.c_str(), p);
    if (auto err = rd_kafka_committed(consumer.get(), committed.get(), 10000))
        throw std::runtime_error(std::string("redrive: committed offsets of group ") + o.group + ": " + rd_kafka_err2str(err));
    std::vector<std::int64_t> end(partitions, 0), next(partitions, -1);
    partition_list assignment(rd_kafka_topic_partition_list_new(partitions));
    int remaining = 0;
    for (int p = 0; p < partitions; ++p) {
        std::int64_t lo = 0, hi = 0;
        if (auto err = rd_kafka_query_watermark_offsets(consumer.get(), o.topic.c_str(), p, &lo, &hi, 10000))
            throw std::runtime_error("redrive: offsets of " + o.topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(err));
        const std::int64_t from = std::max(committed->elems[p].offset >= 0 ? committed->elems[p].offset : lo, lo);
        end[p] = hi;
        if (from < hi) {
            rd_kafka_topic_partition_list_add(assignment.get(), o.topic.c_str(), p)->offset = from;
            ++remaining;
        }
    }

    delivery_count deliveries;
    kafka_handle producer;
    if (!o.dry_run) producer = make_producer(o.bootstrap, o.producer_properties, &deliveries, &on_delivery);

    if (remaining > 0) rd_kafka_assign(consumer.get(), assignment.get());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (remaining > 0) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("redrive: " + o.topic + " not read to its end within 120 s");
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
        if (producer) rd_kafka_poll(producer.get(), 0);
        if (!m) continue;
        if (m->err) {
            std::fprintf(log, "redrive: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        const int p = m->partition;
        if (m->offset >= end[p]) {  // arrived after the start: the next run's
            rd_kafka_message_destroy(m);
            continue;
        }
        ++res.read;
        next[p] = m->offset + 1;
        if (next[p] >= end[p]) --remaining;

        rd_kafka_headers_t* h = nullptr;
        if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) h = nullptr;
        bool has_topic = false, has_part = false, found = false;
        const std::string source_topic = header(h, "sluice.source.topic", has_topic);
        const std::string source_part = header(h, "sluice.source.partition", has_part);
        const std::string reason = header(h, "sluice.failure_reason", found);
        const std::string format = header(h, "sluice.dlq.format", found);
        const std::string count_text = header(h, "sluice.redrive.count", found);
        const std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
        std::string original, why;
        bool readable = has_topic;
        if (!readable) why = "no sluice.source.topic header";
        // Dead letters written before sluice.dlq.format existed are the original bytes.
        if (readable && format == "envelope") {
            auto event = envelope_event(value, why);
            readable = event.has_value();
            if (readable) original = std::move(*event);
        } else if (readable) {
            original.assign(value);
        }
        if (!readable) {
            ++res.unreadable;
            std::fprintf(log, "redrive: %s[%d] offset %lld unreadable, passed over: %s\n", o.topic.c_str(), p,
                         static_cast<long long>(m->offset), why.c_str());
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!o.reason.empty() && reason.find(o.reason) == std::string::npos) {
            ++res.skipped;
            rd_kafka_message_destroy(m);
            continue;
        }
        const std::string target = o.to == "source" ? source_topic : o.to;
        std::int32_t partition = RD_KAFKA_PARTITION_UA;
        if (o.to == "source" && has_part) std::from_chars(source_part.data(), source_part.data() + source_part.size(), partition);
        std::uint32_t count = 0;
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
        ++res.sent;
        if (o.dry_run) {
            std::fprintf(log, "redrive: would send %s[%d] offset %lld to %s (key %zu bytes, value %zu bytes): %s\n",
                         o.topic.c_str(), p, static_cast<long long>(m->offset), target.c_str(), m->key_len,
                         original.size(), reason.c_str());
            rd_kafka_message_destroy(m);
            continue;
        }
        // The original headers (trace context and anything else), without sluice's own.
        header_list out(rd_kafka_headers_new(8));
        const char* name = nullptr;
        const void* v = nullptr;
        std::size_t size = 0;
        for (std::size_t i = 0; h && rd_kafka_header_get_all(h, i, &name, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
            if (std::strncmp(name, "sluice.", 7) != 0) rd_kafka_header_add(out.get(), name, -1, v, static_cast<ssize_t>(size));
        const std::string next_count = std::to_string(count + 1);
        rd_kafka_header_add(out.get(), "sluice.redrive.count", -1, next_count.data(), static_cast<ssize_t>(next_count.size()));
        for (;;) {
            const rd_kafka_resp_err_t err = rd_kafka_producev(
                producer.get(), RD_KAFKA_V_TOPIC(target.c_str()), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(original.data(), original.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(out.get()), RD_KAFKA_V_END);
            if (!err) {
                out.release();  // librdkafka owns the headers now
                break;
            }
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                ++deliveries.failed;
                if (deliveries.first_error.empty()) deliveries.first_error = rd_kafka_err2str(err);
                break;
            }
            rd_kafka_poll(producer.get(), 10);
        }
        rd_kafka_message_destroy(m);
    }

    if (!o.dry_run) {
        rd_kafka_flush(producer.get(), 60000);
        res.failed = deliveries.failed + static_cast<std::uint64_t>(rd_kafka_outq_len(producer.get()));
        if (res.failed > 0) {
            std::fprintf(log, "redrive: %llu sends not confirmed (%s); progress not committed, the next run sends them again\n",
                         static_cast<unsigned long long>(res.failed), deliveries.first_error.c_str());
        } else {
            partition_list done(rd_kafka_topic_partition_list_new(partitions));
            for (int p = 0; p < partitions; ++p)
                if (next[p] >= 0) rd_kafka_topic_partition_list_add(done.get(), o.topic.c_str(), p)->offset = next[p];
            if (done->cnt > 0)
                if (auto err = rd_kafka_commit(consumer.get(), done.get(), 0))
                    throw std::runtime_error(std::string("redrive: sent, but committing the progress failed (the next run sends them again): ") +
                                             rd_kafka_err2str(err));
        }
    }
    rd_kafka_consumer_close(consumer.get());
    return res;
}

}  // namespace sluice
