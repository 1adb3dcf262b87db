// Decoder: both envelope styles, and a distinct reason for every kind of bad input.
#include "decode/decoder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <span>
#include <string>

#include "base/timestamp.hpp"
#include "decode/event_schema.hpp"
#include "seed_fields.hpp"
#include "seed_schema.hpp"

using namespace sluice;

namespace {
struct fixture {
    type_registry types{seed_schema().known_types()};
    decoder dec{seed_schema(), types, 4096};
    standalone_event ev;
    event_slot& slot = ev.slot;
    const seed_fields& fields() const { return seed_fields_of(slot); }
    decode_result run(std::string_view json) {
        ev.assign(json.data(), json.size());
        return dec.decode(slot);
    }
    std::string reason(std::string_view json) { return run(json).describe(); }
};
}  // namespace

TEST(Decoder, PortfolioEnvelope) {
    fixture f;
    auto r = f.run(R"({"event_id":"e-1","event_type":"article.created","timestamp":"2024-01-01T00:00:00Z",
        "source":"backend","version":"1.0","data":{"article_id":"a-9","title":"Hello \"x\"",
        "slug":"hello","author_id":"42","created_at":"2024-01-01T00:00:00Z"}})");
    ASSERT_TRUE(r) << r.describe();
    const seed_fields& e = f.fields();
    EXPECT_EQ(e.style, envelope::portfolio);
    EXPECT_EQ(f.types.name(f.slot.ev.type), "article.created");
    EXPECT_EQ(f.slot.str(e.event_id), "e-1");
    EXPECT_EQ(f.slot.str(e.entity_id), "a-9");
    EXPECT_EQ(f.slot.str(e.author_id), "42");
    EXPECT_EQ(f.slot.str(e.title), "Hello \"x\"");
    EXPECT_EQ(f.slot.str(e.source), "backend");
    EXPECT_EQ(e.timestamp_ns, 1704067200LL * 1000000000LL);
}

TEST(Decoder, TaskEnvelopeWithNumericIdsAndNullAssignee) {
    fixture f;
    auto r = f.run(R"({"eventType":"task.updated","taskId":1,"teamId":3,"actorId":1,"creatorId":1,
        "assigneeId":null,"timestamp":"2025-08-25T22:41:54.574Z","payload":{"title":"T","completed":false}})");
    ASSERT_TRUE(r) << r.describe();
    const seed_fields& e = f.fields();
    EXPECT_EQ(e.style, envelope::task);
    EXPECT_EQ(f.types.name(f.slot.ev.type), "task.updated");
    EXPECT_EQ(f.slot.str(e.entity_id), "1");
    EXPECT_EQ(f.slot.str(e.creator_id), "1");
    EXPECT_TRUE(e.assignee_id.empty());
    EXPECT_EQ(e.timestamp_ns, *parse_iso8601_ns("2025-08-25T22:41:54.574Z"));
}

TEST(Decoder, UserCreated) {
    fixture f;
    auto r = f.run(R"({"eventType":"user.created","userId":7,"timestamp":"2025-08-25T22:30:57.123Z",
        "payload":{"email":"user@example.com","username":"newuser"}})");
    ASSERT_TRUE(r) << r.describe();
    EXPECT_EQ(f.slot.str(f.fields().user_id), "7");
    EXPECT_EQ(f.slot.str(f.fields().email), "user@example.com");
    EXPECT_EQ(f.slot.str(f.fields().username), "newuser");
}

// Keys are read in place unless they hold an escape; an escaped key means
// the same as its plain spelling, and a key holding an escaped quote is
// neither cut at that quote nor mistaken for a known one.
TEST(Decoder, EscapedKeysMeanWhatTheySpell) {
    fixture f;
    auto r = f.run(R"({"event\u005fid":"e-2","event_type":"page.viewed","timestamp":"2024-01-01T00:00:00Z",)"
                   R"("so\"urce":"not-the-source","data":{"p\u0061th":"/x","user_\u0069d":"u1"}})");
    ASSERT_TRUE(r) << r.describe();
    EXPECT_EQ(f.slot.str(f.fields().event_id), "e-2");
    EXPECT_EQ(f.slot.str(f.fields().entity_id), "/x");
    EXPECT_EQ(f.slot.str(f.fields().user_id), "u1");
    EXPECT_TRUE(f.fields().source.empty());
    // A duplicate spelled two ways is still a duplicate.
    EXPECT_EQ(f.reason(R"({"event_id":"a","event\u005fid":"b","event_type":"x","timestamp":"2024-01-01T00:00:00Z","data":{}})"),
              "duplicate key: event_id");
}

// Strings without escapes are taken from the payload in place, the others
// unescaped: either way exactly the string, whatever spacing surrounds it.
TEST(Decoder, StringsInPlaceAndUnescaped) {
    fixture f;
    auto r = f.run("{ \"event_id\" : \"e-3\"  ,\n\"event_type\":\"x.y\"\r\n, \"timestamp\":\"2024-01-01T00:00:00Z\",\t"
                   "\"source\":\"a\\u0062c\\t\", \"version\":\" 1.0 \", \"data\":{\"title\":\"\" , \"path\":\"/\\\"q\\\"\"} }");
    ASSERT_TRUE(r) << r.describe();
    EXPECT_EQ(f.slot.str(f.fields().event_id), "e-3");
    EXPECT_EQ(f.slot.str(f.fields().source), "abc\t");
    EXPECT_EQ(f.slot.str(f.fields().version), " 1.0 ");
    EXPECT_EQ(f.slot.str(f.fields().title), "");
    EXPECT_EQ(f.slot.str(f.fields().entity_id), "/\"q\"");
    EXPECT_EQ(f.types.name(f.slot.ev.type), "x.y");
    // A timestamp with an escape is unescaped, then parsed.
    ASSERT_TRUE(f.run(R"({"event_id":"a","event_type":"x","timestamp":"2024-01-01T00:00:00\u005a","data":{}})"));
    EXPECT_EQ(f.fields().timestamp_ns, 1704067200LL * 1000000000LL);
    // A number where a string belongs is still a wrong type.
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x","timestamp":"2024-01-01T00:00:00Z","source":5,"data":{}})"),
              "wrong type: source (The JSON element does not have the requested type.)");
}

// Numeric ids become their decimal text: taken in place when the JSON is
// already that text, printed otherwise; the same rejections either way.
TEST(Decoder, NumericIdsAreTheirDecimalText) {
    fixture f;
    auto id = [&](std::string_view json_number) {
        const std::string ev = std::string(R"({"eventType":"user.created","userId":)") + std::string(json_number) +
                               R"( ,"timestamp":"2025-08-25T22:30:57Z","payload":{"email":"e@x"}})";
        const decode_result r = f.run(ev);
        return r ? std::string(f.slot.str(f.fields().user_id)) : r.describe();
    };
    EXPECT_EQ(id("7"), "7");
    EXPECT_EQ(id("0"), "0");
    EXPECT_EQ(id("-12"), "-12");
    EXPECT_EQ(id("-0"), "0");
    EXPECT_EQ(id("123456789012345678"), "123456789012345678");
    EXPECT_EQ(id("-9223372036854775808"), "-9223372036854775808");
    EXPECT_EQ(id("9223372036854775807"), "9223372036854775807");
    EXPECT_EQ(id("9223372036854775808"), "number out of range: userId must be a 64-bit integer");
    EXPECT_EQ(id("1e3"), "number out of range: userId must be a 64-bit integer");
    EXPECT_EQ(id("1.5"), "number out of range: userId must be a 64-bit integer");
    EXPECT_EQ(id("007").rfind("number out of range: userId", 0), 0u) << id("007");
    EXPECT_EQ(id("true").rfind("wrong type: userId", 0), 0u) << id("true");
}

TEST(Decoder, EveryBadInputHasItsOwnReason) {
    fixture f;
    const std::string ok_tail = R"(,"timestamp":"2024-01-01T00:00:00Z","data":{}})";
    EXPECT_EQ(f.reason(""), "empty payload");
    f.ev.assign("", 0);
    EXPECT_EQ(f.dec.decode(f.slot, true).describe(), "tombstone: null message value");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x")"), "invalid JSON: JSON document ended early in the middle of an object or array.");
    EXPECT_EQ(f.reason("[1,2]"), "not a JSON object: the payload is an array");
    EXPECT_EQ(f.reason("\"text\""), "not a JSON object: the payload is a string");
    EXPECT_EQ(f.reason("42"), "not a JSON object: the payload is a number");
    EXPECT_EQ(f.reason("Q\x15h garbage"), "invalid JSON: the payload does not start with a JSON value");
    EXPECT_EQ(f.reason("null"), "not a JSON object: the payload is null");
    EXPECT_EQ(f.reason(" true \n"), "not a JSON object: the payload is a boolean");
    EXPECT_EQ(f.reason("false"), "not a JSON object: the payload is a boolean");
    // A leading n, t or f is not enough to be a literal.
    EXPECT_EQ(f.reason("not json"), "invalid JSON: the payload does not start with a JSON value");
    EXPECT_EQ(f.reason("nullx"), "invalid JSON: the payload does not start with a JSON value");
    EXPECT_EQ(f.reason("tru"), "invalid JSON: the payload does not start with a JSON value");
    EXPECT_EQ(f.reason(R"({"a":1})"), "unknown envelope: neither event_type nor eventType present");
    EXPECT_EQ(f.reason(R"({"event_type":"x")" + ok_tail), "missing field: event_id");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x","data":{}})"), "missing field: timestamp");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":7)" + ok_tail), "wrong type: event_type (The JSON element does not have the requested type.)");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x","timestamp":"yesterday","data":{}})"), "bad timestamp: timestamp is not ISO 8601");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_id":"b","event_type":"x")" + ok_tail), "duplicate key: event_id");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x")" + ok_tail + "garbage"), "invalid JSON: JSON document ended early in the middle of an object or array.");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":"x")" + ok_tail + " 12"), "invalid JSON: JSON document ended early in the middle of an object or array.");
    EXPECT_EQ(f.reason(R"({"eventType":"task.updated","taskId":99999999999999999999999,"actorId":1,"creatorId":1,"timestamp":"2024-01-01T00:00:00Z"})"),
              "number out of range: taskId must be a 64-bit integer");
    EXPECT_EQ(f.reason(R"({"eventType":"task.updated","taskId":1,"actorId":1,"timestamp":"2024-01-01T00:00:00Z"})"), "missing field: creatorId");
    EXPECT_EQ(f.reason(R"({"eventType":"user.created","userId":1,"timestamp":"2024-01-01T00:00:00Z","payload":{}})"), "missing field: payload.email");
    EXPECT_EQ(f.reason("{\"event_id\":\"\xff\xfe\",\"event_type\":\"x\"" + ok_tail), "invalid JSON: The input is not valid UTF-8");
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":")" + std::string(63, 't') + '"' + ok_tail), "ok")
        << "63 bytes is the longest type name";
    EXPECT_EQ(f.reason(R"({"event_id":"a","event_type":")" + std::string(64, 't') + '"' + ok_tail),
              "event type name too long: 64 bytes (max 63)");
    std::string big(5000, ' ');
    EXPECT_EQ(f.reason(big), "payload too large: 5000 bytes (max 4096)");
}

// An event rejected before the schema runs leaves no field of the slot's
// previous event behind (the slot is reused for every event).
TEST(Decoder, ARejectedEventKeepsNoFieldsOfThePrevious) {
    fixture f;
    ASSERT_TRUE(f.run(R"({"eventType":"task.updated","taskId":7,"creatorId":1,"actorId":2,
        "timestamp":"2024-01-01T00:00:00Z","payload":{"title":"t"}})"));
    ASSERT_EQ(f.slot.str(f.fields().entity_id), "7");
    for (std::string_view bad : {std::string_view("[1]"), std::string_view("not json"), std::string_view("")}) {
        EXPECT_FALSE(f.run(bad)) << bad;
        EXPECT_TRUE(f.fields().entity_id.empty()) << bad;
        EXPECT_TRUE(f.fields().title.empty()) << bad;
        EXPECT_EQ(f.fields().timestamp_ns, 0) << bad;
    }
}

TEST(Decoder, DeepNestingIsRejectedNotCrashed) {
    fixture f;
    std::string deep = R"({"event_id":"a","event_type":"x","timestamp":"2024-01-01T00:00:00Z","data":{"n":)";
    for (int i = 0; i < 1000; ++i) deep += "[";
    for (int i = 0; i < 1000; ++i) deep += "]";
    deep += "}}";
    auto r = f.run(deep);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.describe(), "nesting too deep: more than 64 levels");
}

// The envelope's correlation id is the engine's (the trace), read by the
// schema: a string or number is carried, anything else ignored, never a
// reason to reject; a decode that has none leaves none from the event before.
TEST(Decoder, CorrelationIdIsCarriedNotRequired) {
    fixture f;
    const std::string head = R"({"eventType":"user.created","userId":7,"timestamp":"2025-08-25T22:30:57Z","payload":{"email":"e@x"})";
    ASSERT_TRUE(f.run(head + R"(,"correlationId":"c-1"})"));
    EXPECT_EQ(f.slot.str(f.slot.ev.correlation_id), "c-1");
    ASSERT_TRUE(f.run(head + R"(,"correlation_id":42})"));
    EXPECT_EQ(f.slot.str(f.slot.ev.correlation_id), "42");
    ASSERT_TRUE(f.run(head + R"(,"correlation_id":{"a":[1]}})"));
    EXPECT_TRUE(f.slot.ev.correlation_id.empty());
    ASSERT_TRUE(f.run(head + "}"));
    EXPECT_TRUE(f.slot.ev.correlation_id.empty());
}

namespace {
// Another domain's events, {"metric":"cpu","host":...,"at":...,"trace":...}:
// the engine's decoder serves it unchanged.
struct metric_fields {
    std::int64_t at_ns = 0;
    str_ref host;
};

class metric_schema final : public event_schema {
public:
    std::span<const std::string_view> known_types() const noexcept override { return names_; }
    bool decode(od::object& top, decode_context& c, event_slot& slot, str_ref& type_name) const noexcept override {
        metric_fields& m = slot.fields<metric_fields>();
        m = {};
        return for_each_field(top, c, "",
                              [&](std::string_view k, od::value& v) {
                                  if (k == "metric") return c.mark(1, "metric") && c.string_field(v, "metric", type_name);
                                  if (k == "host") return c.mark(2, "host") && c.string_field(v, "host", m.host);
                                  if (k == "at") return c.timestamp_field(v, "at", m.at_ns);
                                  if (k == "trace") return c.id_field(v, "trace", slot.ev.correlation_id);
                                  return check_nesting(v, c, c.max_depth - 1);
                              }) &&
               (!type_name.empty() || c.fail(decode_status::missing_field, "metric"));
    }

private:
    static constexpr std::array<std::string_view, 2> names_ = {"cpu", "disk"};
};
}  // namespace

TEST(DecoderHook, AnotherSchemaPlugsIntoTheSameDecoder) {
    const metric_schema schema;
    type_registry types(schema.known_types());
    decoder dec(schema, types, 4096);
    EXPECT_EQ(types.find("disk"), 1);
    standalone_event ev;
    auto run = [&](std::string_view json) {
        ev.assign(json.data(), json.size());
        return dec.decode(ev.slot);
    };
    ASSERT_TRUE(run(R"({"metric":"disk","host":"h1","at":"2024-01-01T00:00:00Z","trace":7,"extra":[{}]})"));
    EXPECT_EQ(ev.slot.ev.type, 1);
    EXPECT_EQ(ev.slot.str(ev.slot.fields<metric_fields>().host), "h1");
    EXPECT_EQ(ev.slot.fields<metric_fields>().at_ns, 1704067200LL * 1000000000LL);
    EXPECT_EQ(ev.slot.str(ev.slot.ev.correlation_id), "7");
    ASSERT_TRUE(run(R"({"metric":"net"})"));
    EXPECT_EQ(types.name(ev.slot.ev.type), "net");
    EXPECT_EQ(ev.slot.ev.type, 2) << "a new type is interned after the known ones";
    // The schema's rejections, and the engine's own, read as the seed schema's do.
    EXPECT_EQ(run(R"({"host":"h1"})").describe(), "missing field: metric");
    EXPECT_EQ(run(R"({"metric":"cpu","metric":"cpu"})").describe(), "duplicate key: metric");
    EXPECT_EQ(run(R"({"metric":"cpu","at":"noon"})").describe(), "bad timestamp: at is not ISO 8601");
    EXPECT_EQ(run("[1]").describe(), "not a JSON object: the payload is an array");
    EXPECT_EQ(run("").describe(), "empty payload");
    std::string deep = R"({"metric":"cpu","x":)";
    for (int i = 0; i < 100; ++i) deep += "[";
    for (int i = 0; i < 100; ++i) deep += "]";
    EXPECT_EQ(run(deep + "}").describe(), "nesting too deep: more than 64 levels");
}

TEST(Timestamp, ZonesFractionsAndRejects) {
    EXPECT_EQ(*parse_iso8601_ns("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(*parse_iso8601_ns("1970-01-01T01:00:00+01:00"), 0);
    EXPECT_EQ(*parse_iso8601_ns("1970-01-01T00:00:00.000000001"), 1);
    EXPECT_EQ(*parse_iso8601_ns("2024-02-29T12:00:00-0130"), *parse_iso8601_ns("2024-02-29T13:30:00Z"));
    for (auto bad : {"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                     "2024-01-01", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+5", "x",
                     // beyond int64 nanoseconds: must not overflow
                     "9600-01-01T00:00:00Z", "0001-01-01T00:00:00Z"})
        EXPECT_FALSE(parse_iso8601_ns(bad)) << bad;
    EXPECT_TRUE(parse_iso8601_ns("2262-01-01T00:00:00Z"));
    EXPECT_TRUE(parse_iso8601_ns("1678-01-01T00:00:00Z"));
    char buf[32];
    EXPECT_EQ(std::string(buf, format_iso8601_ms(*parse_iso8601_ns("2025-08-25T22:30:57.123Z"), buf)),
              "2025-08-25T22:30:57.123Z");
}
