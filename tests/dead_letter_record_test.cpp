// The envelope dead-letter record: which field holds the event, and getting the bytes back.
#include "dead_letter/dead_letter_record.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using namespace sluice;

namespace {
dead_letter_facts facts() {
    return {"task.updated", "invalid JSON: \"x\"", 3, 1'767'225'600'123'000'000, 1'767'225'601'456'000'000};
}
}  // namespace

TEST(DeadLetterRecord, Base64RoundTrip) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(char(i));
    EXPECT_EQ(base64_decode(base64_encode(all)), all);
    EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
    EXPECT_FALSE(base64_decode("Zm9"));
    EXPECT_FALSE(base64_decode("Zm=v"));
    EXPECT_FALSE(base64_decode("Zm9*"));
}

TEST(DeadLetterRecord, EnvelopeFieldsAndEventKinds) {
    std::string out, why;
    simdjson::dom::parser parser;
    // A JSON document: embedded as "event", bytes back exactly.
    const std::string valid = R"({"eventType":"task.updated","taskId":7,"topic":"inner"})";
    write_envelope(out, valid, facts());
    EXPECT_EQ(out, std::string(R"({"event":)") + valid +
                       R"(,"topic":"task.updated","failure_reason":"invalid JSON: \"x\"","attempt_count":3,)"
                       R"("first_attempt":"2026-01-01T00:00:00.123Z","last_attempt":"2026-01-01T00:00:01.456Z"})");
    EXPECT_EQ(envelope_event(out, why), valid);
    // Not JSON, UTF-8: a JSON string.
    write_envelope(out, "{not json \"é\"", facts());
    simdjson::dom::element doc = parser.parse(out);
    EXPECT_EQ(std::string_view(doc["event_raw"]), "{not json \"é\"");
    EXPECT_EQ(doc["event_encoding"].error(), simdjson::NO_SUCH_FIELD);
    EXPECT_EQ(envelope_event(out, why), "{not json \"é\"");
    // Not UTF-8: base64.
    const std::string binary("\xff\xfe{\x00\x01", 5);
    write_envelope(out, binary, facts());
    doc = parser.parse(out);
    EXPECT_EQ(std::string_view(doc["event_raw"]), base64_encode(binary));
    EXPECT_EQ(std::string_view(doc["event_encoding"]), "base64");
    EXPECT_EQ(envelope_event(out, why), binary);
    // JSON with surrounding whitespace keeps its bytes as event_raw.
    write_envelope(out, " {\"a\":1}\n", facts());
    EXPECT_EQ(std::string_view(parser.parse(out)["event_raw"]), " {\"a\":1}\n");
    EXPECT_EQ(envelope_event(out, why), " {\"a\":1}\n");
    // Empty payload (a tombstone or empty message).
    write_envelope(out, "", facts());
    EXPECT_EQ(envelope_event(out, why), "");
    // Another writer's envelope (the producer service): the event minified.
    EXPECT_EQ(envelope_event(R"({"topic":"t","event": {"a": [1, 2]},"failure_reason":"x"})", why), R"({"a":[1,2]})");
    EXPECT_FALSE(envelope_event("raw bytes", why));
    EXPECT_EQ(why, "not a JSON object");
    EXPECT_FALSE(envelope_event(R"({"topic":"t"})", why));
}
