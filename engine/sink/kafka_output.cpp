// Sink records to a Kafka topic; the record counts as delivered on its delivery report.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "kafka/kafka_handles.hpp"
#include "sink/output.hpp"

namespace sluice {
namespace {

class null_output final : public output {
public:
    explicit null_output(delivery_handler& h) : handler_(h) {}
    bool write(std::string_view key, std::string_view record, std::uint64_t token, trace_view) override {
        handler_.delivered(token, key, record, nullptr);
        return true;
    }
    bool poll() override { return false; }
    std::size_t in_flight() const noexcept override { return 0; }
    std::string describe() const override { return "none"; }

private:
    delivery_handler& handler_;
};

struct kafka_topic_deleter {
    void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};
using kafka_topic = std::unique_ptr<rd_kafka_topic_t, kafka_topic_deleter>;

// With the producer's topic settings (kafka.producer.properties), as a
// record produced by topic name would get them.
kafka_topic make_topic(rd_kafka_t* rk, const std::string& topic) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), rd_kafka_default_topic_conf_dup(rk));
    if (!t) throw std::runtime_error("output kafka:" + topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
    return kafka_topic(t);
}

class kafka_output final : public output {
public:
    kafka_output(const std::string& topic, const std::string& bootstrap,
                 const std::map<std::string, std::string>& props, delivery_handler& h)
        : topic_(topic), bootstrap_(bootstrap), props_(props), handler_(h),
          rk_(make_producer(bootstrap, props, this, &kafka_output::on_delivery)), rkt_(make_topic(rk_.get(), topic)) {}
    // The sink runner waited for every delivery (or gave up at the shutdown
    // deadline): what is left is dropped without reports, which would reach
    // a tracker being destroyed.
    ~kafka_output() override {
        rkt_.reset();
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }

    bool write(std::string_view key, std::string_view record, std::uint64_t token, trace_view trace) override {
        // One produceva call with the trace as headers, built on the stack.
        // The topic goes as the output's handle: by name, every call would
        // look the topic up under the producer's write lock, which its broker
        // thread contends for.
        rd_kafka_vu_t vu[5 + max_trace_headers + 1];
        std::size_t n = 0;
        vu[n].vtype = RD_KAFKA_VTYPE_RKT;
        vu[n++].u.rkt = rkt_.get();
        vu[n].vtype = RD_KAFKA_VTYPE_KEY;
        vu[n].u.mem.ptr = const_cast<char*>(key.data());
        vu[n++].u.mem.size = key.size();
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[n].u.mem.ptr = const_cast<char*>(record.data());
        vu[n++].u.mem.size = record.size();
        vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
        vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
        vu[n++].u.ptr = reinterpret_cast<void*>(token);
        for (std::size_t i = 0; i < trace.count && i <= max_trace_headers; ++i) {
            vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
            vu[n].u.header.name = trace.items[i].name;
            vu[n].u.header.val = trace.items[i].value.empty() ? "" : trace.items[i].value.data();
            vu[n++].u.header.size = static_cast<ssize_t>(trace.items[i].value.size());
        }
        for (;;) {
            vu[0].u.rkt = rkt_.get();  // a rebuild replaces the handle with the producer
            rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
            bool fatal = false;
            if (rd_kafka_error_t* e = rd_kafka_produceva(rk_.get(), vu, n)) {
                err = rd_kafka_error_code(e);
                // A fatal error comes with its underlying code, not __FATAL.
                fatal = rd_kafka_error_is_fatal(e);
                rd_kafka_error_destroy(e);
            }
            if (!err) {
                ++in_flight_;
                return true;
            }
            if (fatal && !rebuilding_) {
                rebuild();  // then produce again with the new producer
                continue;
            }
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;  // backpressure: offered again later
            handler_.delivered(token, key, record, rd_kafka_err2str(err));
            return true;
        }
    }
    bool poll() override {
        const std::size_t before = in_flight_;
        rd_kafka_poll(rk_.get(), 0);
        if (rd_kafka_fatal_error(rk_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR && !rebuilding_) {
            rebuild();
            return true;
        }
        return in_flight_ != before;
    }
    std::size_t in_flight() const noexcept override { return in_flight_; }
    std::string describe() const override { return "kafka:" + topic_; }

private:
    // An idempotent producer that raised a fatal error (e.g. the broker lost
    // its sequence state) takes no more records: every record it holds is
    // reported failed (purged) so the tracker resends it, and a new producer,
    // with a new producer id, takes over. Nothing is lost; a record the old
    // producer had written but not confirmed may be written twice.
    void rebuild() {
        rebuilding_ = true;
        char why[512] = "";
        rd_kafka_fatal_error(rk_.get(), why, sizeof why);
        std::fprintf(stderr, "sluice: output kafka:%s: fatal producer error: %s; replacing the producer, "
                             "%zu unconfirmed records are sent again\n", topic_.c_str(), why, in_flight_);
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        // Serve the purged records' reports (bounded: a report of a record in
        // flight may wait for its request to end).
        for (int i = 0; i < 500 && in_flight_ > 0; ++i) rd_kafka_poll(rk_.get(), 10);
        kafka_handle old = std::move(rk_);
        rkt_.reset();  // a topic handle belongs to its producer
        rk_ = make_producer(bootstrap_, props_, this, &kafka_output::on_delivery);
        rkt_ = make_topic(rk_.get(), topic_);
        rd_kafka_poll(old.get(), 0);
        old.reset();  // 2.0.2 drops what is still unreported here, without a report
        handler_.rebuilt(why);
        rebuilding_ = false;
    }

    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* self = static_cast<kafka_output*>(opaque);
        --self->in_flight_;
        self->handler_.delivered(
            reinterpret_cast<std::uint64_t>(m->_private),
            {static_cast<const char*>(m->key), m->key_len},
            {static_cast<const char*>(m->payload), m->len},
            m->err ? rd_kafka_err2str(m->err) : nullptr);
    }

    std::string topic_;
    std::string bootstrap_;
    std::map<std::string, std::string> props_;
    delivery_handler& handler_;
    kafka_handle rk_;
    kafka_topic rkt_;
    std::size_t in_flight_ = 0;
    bool rebuilding_ = false;
};

}  // namespace

std::unique_ptr<output> make_kafka_output(const std::string& topic, const std::string& bootstrap,
                                          const std::map<std::string, std::string>& props,
                                          delivery_handler& handler) {
    return std::make_unique<kafka_output>(topic, bootstrap, props, handler);
}

std::unique_ptr<output> make_output(const output_spec& spec, const std::string& bootstrap,
                                    const std::map<std::string, std::string>& producer_props,
                                    delivery_handler& handler) {
    switch (spec.type) {
        case output_spec::kind::kafka:
            return make_kafka_output(spec.target, bootstrap, producer_props, handler);
        case output_spec::kind::file: return make_file_output(spec.target, handler);
        case output_spec::kind::none: break;
    }
    return std::make_unique<null_output>(handler);
}

}  // namespace sluice
