// Output record accounting, jittered exponential backoff and dead-lettering.
#include "delivery_tracker.hpp"

#include <algorithm>
#include <cstdio>

#include "clock.hpp"

namespace sluice {

namespace {
// Tokens at or above this mark are unbound records (no slot behind them).
constexpr std::uint64_t unbound_base = 1ull << 40;
}

delivery_tracker::delivery_tracker(flow& f, sink_context& ctx, const output_spec& spec,
                                   const std::string& bootstrap,
                                   const std::map<std::string, std::string>& producer_props,
                                   retry_policy policy, std::string sink_name)
    : flow_(f), ctx_(ctx), policy_(policy),
      backoff_(std::int64_t(policy.backoff_ms) * 1'000'000, std::int64_t(policy.backoff_max_ms) * 1'000'000),
      sink_name_(std::move(sink_name)),
      out_(make_output(spec, bootstrap, producer_props, *this)), slots_(f.pool.size()),
      discards_(spec.type == output_spec::kind::none) {
    retries_.reserve(64);
}

void delivery_tracker::emit(std::string_view key, std::string_view record) {
    per_slot& s = slots_[current_];
    if (emitted_ == 0) {
        const std::int64_t now = mono_ns();  // the first output attempt, for a dead letter's first_attempt
        s = per_slot{0, 1, false, false, nullptr, now, now};
    }
    ++emitted_;
    ++s.outstanding;
    ++outstanding_total_;
    ctx_.metrics.outputs.add();
    trace_header trace[max_trace_headers + 1];
    out_->write(key, record, current_, flow_.pool[current_].trace(trace));
}

void delivery_tracker::end(event_slot& slot) {
    if (emitted_ == 0) {
        ctx_.done(slot);  // nothing to deliver for this event
        return;
    }
    slots_[current_].ended = true;
    finish_if_complete(current_);
}

void delivery_tracker::emit_unbound(std::string_view key, std::string_view record) {
    ++outstanding_total_;
    out_->write(key, record, unbound_base + unbound_seq_++);
}

void delivery_tracker::finish_if_complete(std::uint32_t idx) {
    per_slot& s = slots_[idx];
    if (!s.ended || s.outstanding != 0) return;
    s.ended = false;  // finish once
    event_slot& slot = flow_.pool[idx];
    if (!s.failed) {
        ctx_.done(slot);
        return;
    }
    ctx_.metrics.failed.add();
    const std::string reason = sink_name_ + " output " + out_->describe() + " failed after " +
                               std::to_string(s.max_attempts_seen) + " attempts: " + (s.error ? s.error : "unknown error");
    // Monotonic attempt times as wall-clock times.
    const std::int64_t to_wall = wall_ns() - mono_ns();
    ctx_.dead_letter(slot, reason, s.max_attempts_seen, sink_name_, s.first_attempt_ns + to_wall,
                     s.last_attempt_ns + to_wall);
}

std::uint32_t delivery_tracker::take_attempt(std::uint64_t token, std::string_view record) noexcept {
    for (auto it = in_retry_.begin(); it != in_retry_.end(); ++it)
        if (it->first == token && it->second.first == record) {
            const std::uint32_t attempt = it->second.second;
            in_retry_.erase(it);
            return attempt;
        }
    return 1;  // not resent: its first attempt
}

void delivery_tracker::delivered(std::uint64_t token, std::string_view key, std::string_view record,
                                 const char* error) noexcept {
    const bool unbound = token >= unbound_base;
    if (!error) {
        // A resent record that got through: forget its attempt count.
        if (!in_retry_.empty()) take_attempt(token, record);
        --outstanding_total_;
        if (!unbound) {
            per_slot& s = slots_[token];
            --s.outstanding;
            finish_if_complete(static_cast<std::uint32_t>(token));
        }
        return;
    }
    // Failed: retry with backoff unless attempts are exhausted. The attempt
    // number of a record travels in its retry entry; a first failure is attempt 1.
    const std::uint32_t attempt = take_attempt(token, record);
    if (attempt < policy_.max_attempts) {
        ctx_.metrics.retried.add();
        try {
            retries_.push_back({now_ns_ + backoff_.delay_ns(attempt), token, attempt + 1, std::string(key), std::string(record)});
        } catch (...) {
        }
        return;
    }
    --outstanding_total_;
    if (unbound) {
        ++unbound_lost_;
        std::fprintf(stderr, "sluice: %s: record lost after %u attempts: %s\n", sink_name_.c_str(), attempt, error);
        return;
    }
    per_slot& s = slots_[token];
    s.failed = true;
    s.error = error;
    s.max_attempts_seen = static_cast<std::uint16_t>(std::max<std::uint32_t>(s.max_attempts_seen, attempt));
    --s.outstanding;
    finish_if_complete(static_cast<std::uint32_t>(token));
}

bool delivery_tracker::poll(std::int64_t now_ns) {
    now_ns_ = now_ns;
    bool work = out_->poll();
    if (retries_.empty()) return work;
    bool resent = false;
    for (std::size_t i = 0; i < retries_.size();) {
        if (retries_[i].due_ns > now_ns) {
            ++i;
            continue;
        }
        retry r = std::move(retries_[i]);
        retries_[i] = std::move(retries_.back());
        retries_.pop_back();
        in_retry_.push_back({r.token, {r.record, r.attempt}});
        if (r.token < unbound_base) slots_[r.token].last_attempt_ns = now_ns;
        // A bound record's slot is held until it is finished: its trace is still there.
        trace_header trace[max_trace_headers + 1];
        const trace_view tv = r.token < unbound_base ? flow_.pool[r.token].trace(trace) : trace_view{};
        out_->write(r.key, r.record, r.token, tv);
        resent = true;
    }
    if (resent) out_->flush();
    return work || resent;
}

}  // namespace sluice
