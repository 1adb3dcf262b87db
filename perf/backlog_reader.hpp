// What the single-threaded benchmark consumers share: sluice's consume call and the backlog's ends.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace sluice::bench {

// The consume call sluice's source uses: one rd_kafka_consumer_poll per
// message, whatever is ready (at most max), waiting up to 10 ms for the first.
inline int poll_batch(rd_kafka_t* rk, rd_kafka_message_t** out, int max) {
    int n = 0;
    while (n < max) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, n == 0 ? 10 : 0);
        if (!m) break;
        out[n++] = m;
    }
    return n;
}

// Once the group has assigned partitions: the end offset of every partition
// that holds data, into `remaining`. Both ends in one ListOffsets request per
// leader each, as sluice asks. 1: done; 0: nothing assigned yet; -1: the
// request failed.
inline int backlog_ends(rd_kafka_t* rk, std::map<std::pair<std::string, int>, std::int64_t>& remaining) {
    rd_kafka_topic_partition_list_t* a = nullptr;
    int result = 0;
    if (rd_kafka_assignment(rk, &a) == 0 && a && a->cnt > 0) {
        rd_kafka_topic_partition_list_t* lo = rd_kafka_topic_partition_list_copy(a);
        for (int i = 0; i < a->cnt; ++i) {
            a->elems[i].offset = RD_KAFKA_OFFSET_END;
            lo->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        if (rd_kafka_offsets_for_times(rk, a, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            rd_kafka_offsets_for_times(rk, lo, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            result = -1;
        } else {
            for (int i = 0; i < a->cnt; ++i)
                if (a->elems[i].offset > lo->elems[i].offset)
                    remaining[{a->elems[i].topic, a->elems[i].partition}] = a->elems[i].offset;
            result = 1;
        }
        rd_kafka_topic_partition_list_destroy(lo);
    }
    if (a) rd_kafka_topic_partition_list_destroy(a);
    return result;
}

}  // namespace sluice::bench
