// Sink records to a Kafka topic; the record counts as delivered on its delivery report.
#include <cstring>
#include <stdexcept>
#include <thread>

#include "kafka_handles.hpp"
#include "output.hpp"

namespace sluice {
namespace {

class null_output final : public output {
public:
    explicit null_output(delivery_handler& h) : handler_(h) {}
    void write(std::string_view key, std::string_view record, std::uint64_t token) override {
        handler_.delivered(token, key, record, nullptr);
    }
    bool poll() override { return false; }
    std::size_t in_flight() const noexcept override { return 0; }
    std::string describe() const override { return "none"; }

private:
    delivery_handler& handler_;
};

class kafka_output final : public output {
public:
    kafka_output(const std::string& topic, const std::string& bootstrap,
                 const std::map<std::string, std::string>& props, delivery_handler& h)
        : topic_(topic), handler_(h), rk_(make_producer(bootstrap, props, this, &kafka_output::on_delivery)) {}
    // The sink runner waited for every delivery (or gave up at the shutdown
    // deadline): what is left is dropped without reports, which would reach
    // a tracker being destroyed.
    ~kafka_output() override { rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT); }

    void write(std::string_view key, std::string_view record, std::uint64_t token) override {
        for (;;) {
            const rd_kafka_resp_err_t err = rd_kafka_producev(
                rk_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(record.data()), record.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(token)), RD_KAFKA_V_END);
            if (!err) {
                ++in_flight_;
                return;
            }
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                handler_.delivered(token, key, record, rd_kafka_err2str(err));
                return;
            }
            // Local queue full: serve delivery reports to make room.
            rd_kafka_poll(rk_.get(), 1);
        }
    }
    bool poll() override {
        const std::size_t before = in_flight_;
        rd_kafka_poll(rk_.get(), 0);
        return in_flight_ != before;
    }
    std::size_t in_flight() const noexcept override { return in_flight_; }
    std::string describe() const override { return "kafka:" + topic_; }

private:
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
    delivery_handler& handler_;
    kafka_handle rk_;
    std::size_t in_flight_ = 0;
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
