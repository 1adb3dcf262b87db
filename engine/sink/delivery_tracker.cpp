// Output record accounting, jittered exponential backoff, per-key resend order and dead-lettering.
#include "sink/delivery_tracker.hpp"

#include <algorithm>
#include <cstdio>

#include "base/clock.hpp"
#include "base/key_hash.hpp"
#include "base/log.hpp"

namespace sluice {

namespace {
// Tokens at or above this mark are unbound records (no event behind them).
constexpr std::uint64_t unbound_base = 1ull << 40;
// A record the output's full queue refused is offered again after this.
constexpr std::int64_t queue_full_retry_ns = 1'000'000;
}

delivery_tracker::delivery_tracker(flow& f, sink_context& ctx, const output_spec& spec,
                                   const std::string& bootstrap,
                                   const std::map<std::string, std::string>& producer_props,
                                   std::string sink_name)
    : flow_(f), ctx_(ctx),
      backoff_(std::int64_t(f.live.retry_backoff_ms.load()) * 1'000'000,
               std::int64_t(f.live.retry_backoff_max_ms.load()) * 1'000'000),
      sink_name_(std::move(sink_name)),
      out_(make_output(spec, bootstrap, producer_props, *this)), events_(f.in_flight.size()),
      discards_(spec.type == output_spec::kind::none) {
    heads_in_flight_.reserve(64);
}

bool delivery_tracker::write(std::string_view key, std::string_view record, std::uint64_t token) {
    // A bound record's event is kept until it is finished: its trace is there.
    trace_header trace[max_trace_headers + 1];
    const trace_view tv = token < unbound_base ? flow_.in_flight[token].trace(trace) : trace_view{};
    if (out_->write(key, record, token, tv)) return true;
    ctx_.metrics.output_queue_full.add();
    return false;
}

void delivery_tracker::write_or_queue(std::string_view key, std::string_view record, std::uint64_t token) {
    // Behind a record of the same key that waits to be resent: wait too.
    if (!queues_.empty()) {
        const std::uint64_t id = key_hash(key);
        if (queues_.count(id)) {
            ctx_.metrics.held_for_order.add();
            return enqueue(id, token, 1, 0, key, record);
        }
    }
    // The output's queue is full: poll() tries again shortly, in key order.
    if (!write(key, record, token)) enqueue(key_hash(key), token, 1, now_ns_ + queue_full_retry_ns, key, record);
}

void delivery_tracker::emit(std::string_view key, std::string_view record) {
    per_event& s = events_[current_];
    if (emitted_ == 0) {
        const std::int64_t now = mono_ns();  // the first output attempt, for a dead letter's first_attempt
        s = per_event{0, 1, 0, false, false, nullptr, now, now};
    }
    ++emitted_;
    ++s.outstanding;
    ++outstanding_total_;
    ctx_.metrics.outputs.add();
    ctx_.output_bytes(static_cast<std::int64_t>(key.size() + record.size()));
    write_or_queue(key, record, current_);
}

void delivery_tracker::end(event_slot& slot) {
    if (emitted_ == 0) {
        ctx_.done(slot);  // nothing to deliver for this event
        return;
    }
    events_[current_].ended = true;
    finish_if_complete(current_);
}

void delivery_tracker::emit_unbound(std::string_view key, std::string_view record) {
    ++outstanding_total_;
    ctx_.output_bytes(static_cast<std::int64_t>(key.size() + record.size()));
    write_or_queue(key, record, unbound_base + unbound_seq_++);
}

void delivery_tracker::finish_if_complete(std::uint32_t idx) {
    per_event& s = events_[idx];
    if (!s.ended || s.outstanding != 0) return;
    s.ended = false;  // finish once
    in_flight_event& e = flow_.in_flight[idx];
    if (!s.failed) {
        ctx_.done(e);
        return;
    }
    ctx_.metrics.failed.add();
    const std::string reason = sink_name_ + " output " + out_->describe() + " failed after " +
                               std::to_string(s.max_attempts_seen) + " attempts: " + (s.error ? s.error : "unknown error");
    // Monotonic attempt times as wall-clock times.
    const std::int64_t to_wall = wall_ns() - mono_ns();
    ctx_.dead_letter(e, reason, s.max_attempts_seen, sink_name_, s.first_attempt_ns + to_wall,
                     s.last_attempt_ns + to_wall);
}

void delivery_tracker::enqueue(std::uint64_t key_id, std::uint64_t token, std::uint32_t attempt, std::int64_t due_ns,
                               std::string_view key, std::string_view record) {
    try {
        queues_[key_id].push_back({token, attempt, due_ns, false, std::string(key), std::string(record)});
        ctx_.metrics.waiting_for_resend.set(++waiting_);
    } catch (...) {
        // Out of memory on the failure path: settle the record as failed
        // rather than lose track of it.
        settle(token, attempt, "out of memory queueing a resend", key.size() + record.size());
    }
}

std::unordered_map<std::uint64_t, std::deque<delivery_tracker::queued>>::iterator
delivery_tracker::head_of(std::uint64_t token, std::string_view record) noexcept {
    for (auto it = heads_in_flight_.begin(); it != heads_in_flight_.end(); ++it) {
        if (it->first != token) continue;
        auto q = queues_.find(it->second);
        if (q == queues_.end() || q->second.empty() || !q->second.front().in_flight || q->second.front().record != record)
            continue;
        *it = heads_in_flight_.back();
        heads_in_flight_.pop_back();
        if (token < unbound_base) --events_[token].heads;
        return q;
    }
    return queues_.end();
}

void delivery_tracker::pop_head(std::unordered_map<std::uint64_t, std::deque<queued>>::iterator q) noexcept {
    q->second.pop_front();
    ctx_.metrics.waiting_for_resend.set(--waiting_);
    if (q->second.empty()) queues_.erase(q);
    // Otherwise the next head has due_ns 0 (or a later failure's due time):
    // poll() sends it, not this delivery report's callback.
}

void delivery_tracker::settle(std::uint64_t token, std::uint32_t attempt, const char* error,
                              std::size_t bytes) noexcept {
    --outstanding_total_;
    ctx_.output_bytes(-static_cast<std::int64_t>(bytes));
    const bool unbound = token >= unbound_base;
    if (!error) {
        if (!unbound) {
            --events_[token].outstanding;
            finish_if_complete(static_cast<std::uint32_t>(token));
        }
        return;
    }
    if (unbound) {
        ++unbound_lost_;
        logf(log_level::error, "delivery", "%s: record lost after %u attempts: %s", sink_name_.c_str(), attempt, error);
        return;
    }
    per_event& s = events_[token];
    s.failed = true;
    s.error = error;
    s.max_attempts_seen = static_cast<std::uint16_t>(std::max<std::uint32_t>(s.max_attempts_seen, attempt));
    --s.outstanding;
    finish_if_complete(static_cast<std::uint32_t>(token));
}

void delivery_tracker::delivered(std::uint64_t token, std::string_view key, std::string_view record,
                                 const char* error) noexcept {
    // A queue head that was resent, or a record on its first attempt (the
    // scan only for tokens with a head in flight: most reports are firsts).
    const bool maybe_head = !heads_in_flight_.empty() && (token >= unbound_base || events_[token].heads > 0);
    auto q = maybe_head ? head_of(token, record) : queues_.end();
    const bool head = q != queues_.end();
    const std::uint32_t attempt = head ? q->second.front().attempt : 1;
    if (!error) {
        if (head) pop_head(q);
        settle(token, attempt, nullptr, key.size() + record.size());
        return;
    }
    // Read at each retry, so a reload applies to the next one.
    backoff_.set_bounds(std::int64_t(flow_.live.retry_backoff_ms.load(std::memory_order_relaxed)) * 1'000'000,
                        std::int64_t(flow_.live.retry_backoff_max_ms.load(std::memory_order_relaxed)) * 1'000'000);
    if (attempt < flow_.live.retry_max_attempts.load(std::memory_order_relaxed)) {
        ctx_.metrics.retried.add();
        const std::int64_t due = now_ns_ + backoff_.delay_ns(attempt);
        if (head) {
            queued& h = q->second.front();
            h.attempt = attempt + 1;
            h.due_ns = std::max<std::int64_t>(due, 1);
            h.in_flight = false;
            return;
        }
        enqueue(key_hash(key), token, attempt + 1, std::max<std::int64_t>(due, 1), key, record);
        return;
    }
    if (head) pop_head(q);
    settle(token, attempt, error, key.size() + record.size());
}

bool delivery_tracker::poll(std::int64_t now_ns) {
    now_ns_ = now_ns;
    bool work = out_->poll();
    if (queues_.empty()) return work;
    // The heads due now, collected first: a write may report at once and so
    // change the map (a queue emptied and erased, a new one added).
    due_.clear();
    for (const auto& [id, queue] : queues_)
        if (!queue.front().in_flight && queue.front().due_ns <= now_ns) due_.push_back(id);
    bool resent = false;
    for (const std::uint64_t id : due_) {
        const auto q = queues_.find(id);
        if (q == queues_.end() || q->second.front().in_flight) continue;
        queued& h = q->second.front();
        h.in_flight = true;
        const std::uint64_t token = h.token;
        heads_in_flight_.push_back({token, id});
        if (token < unbound_base) {
            events_[token].last_attempt_ns = now_ns;
            ++events_[token].heads;
        }
        // Copies: an immediate report may pop the head while write runs.
        const std::string key = h.key, record = h.record;
        if (!write(key, record, token)) {
            // Not taken (queue full), so no report came for it: try again
            // shortly. Reports of other records (a producer rebuilt inside
            // write) may have reordered heads_in_flight_: find the entry.
            const auto it = std::find(heads_in_flight_.begin(), heads_in_flight_.end(), std::make_pair(token, id));
            if (it != heads_in_flight_.end()) {
                *it = heads_in_flight_.back();
                heads_in_flight_.pop_back();
                if (token < unbound_base) --events_[token].heads;
            }
            const auto again = queues_.find(id);
            if (again != queues_.end() && again->second.front().token == token) {
                again->second.front().in_flight = false;
                again->second.front().due_ns = now_ns + queue_full_retry_ns;
            }
            continue;
        }
        resent = true;
    }
    if (resent) out_->flush();
    return work || resent;
}

}  // namespace sluice
