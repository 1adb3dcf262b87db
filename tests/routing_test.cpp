// Routing table: defaults, overrides, unknown types and bad sink names.
#include "pipeline/routing.hpp"
#include "seed_config.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

using namespace sluice;

static const std::vector<std::string> sinks = {"enrichment", "notification", "analytics"};

TEST(Routing, DefaultRulesFollowTheSeedSystems) {
    type_registry types;
    routing_table t(sinks, seed_routes(), types);
    EXPECT_EQ(t.route(types.find("task.updated")), 0b111);
    EXPECT_EQ(t.route(types.find("user.created")), 0b110);
    EXPECT_EQ(t.route(types.find("article.created")), 0b101);
    EXPECT_EQ(t.route(types.find("page.view")), 0b100);
    EXPECT_EQ(t.route(types.find("email.send")), 0b110);
    const type_id fresh = types.intern("invoice.paid");
    EXPECT_EQ(t.route(fresh), 0b100);  // default rule
}

TEST(Routing, OverridesAndUnknownSinks) {
    type_registry types;
    auto rules = seed_routes();
    rules["page.view"] = {};
    rules["default"] = {"notification"};
    routing_table t(sinks, rules, types);
    EXPECT_EQ(t.route(types.find("page.view")), 0);
    EXPECT_EQ(t.route(types.intern("other")), 0b010);
    rules["page.view"] = {"archive"};
    try {
        routing_table bad(sinks, rules, types);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "routing.page.view: unknown sink 'archive' (sinks are enrichment, notification, analytics)");
    }
}

TEST(Routing, AProposalTakesEffectWhenTheSourceAppliesIt) {
    type_registry types;
    routing_table t(sinks, seed_routes(), types);
    auto rules = seed_routes();
    rules["task.updated"] = {"analytics"};
    rules["invoice.paid"] = {"notification"};  // not interned yet: the applying thread interns it
    rules["default"] = {};
    t.propose(rules);
    EXPECT_EQ(t.route(types.find("task.updated")), 0b111) << "nothing changes before apply_pending()";
    EXPECT_EQ(types.find("invoice.paid"), type_registry::none);
    t.apply_pending();
    EXPECT_EQ(t.route(types.find("task.updated")), 0b100);
    EXPECT_EQ(t.route(types.find("invoice.paid")), 0b010);
    EXPECT_EQ(t.route(types.intern("other")), 0);
    t.apply_pending();  // nothing pending: unchanged
    EXPECT_EQ(t.route(types.find("task.updated")), 0b100);
    rules["task.updated"] = {"archive"};
    EXPECT_THROW(t.propose(rules), std::invalid_argument);
    t.apply_pending();
    EXPECT_EQ(t.route(types.find("task.updated")), 0b100) << "a rejected proposal changes nothing";
}

TEST(TypeRegistry, InternIsStableAndBounded) {
    type_registry types;
    const auto n = types.count();
    const auto a = types.intern("x.y");
    EXPECT_EQ(types.intern("x.y"), a);
    EXPECT_EQ(types.name(a), "x.y");
    EXPECT_EQ(types.count(), n + 1);
    for (int i = 0; i < 300; ++i) types.intern("t" + std::to_string(i));
    EXPECT_EQ(types.count(), type_registry::max_types);
    EXPECT_EQ(types.intern("one.too.many"), type_registry::none);
    EXPECT_EQ(types.intern(std::string(100, 'a')), type_registry::none);
}

// The error names the sinks the table was built with, not a fixed list.
TEST(Routing, AnUnknownSinkErrorNamesTheConfiguredSinks) {
    type_registry types;
    try {
        routing_table bad({"enrichment", "archive"}, {{"page.view", {"analytics"}}}, types);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "routing.page.view: unknown sink 'analytics' (sinks are enrichment, archive)");
    }
}

namespace {
int classified = 0;
bool is_task(std::string_view name) noexcept {
    ++classified;
    return name.starts_with("task.");
}
}  // namespace

TEST(TypeRegistry, ClassesAreDecidedOncePerTypeIncludingLaterOnes) {
    const std::array<std::string_view, 2> known = {"task.updated", "page.view"};
    type_registry types(known);
    EXPECT_EQ(types.find("task.updated"), 0);
    EXPECT_EQ(types.find("page.view"), 1);
    type_classes<bool> task(types, &is_task);
    classified = 0;
    EXPECT_TRUE(task(0));
    EXPECT_FALSE(task(1));
    EXPECT_EQ(classified, 2);
    const type_id later = types.intern("task.archived");  // a family member first seen at run time
    EXPECT_TRUE(task(later));
    EXPECT_TRUE(task(0));
    EXPECT_FALSE(task(types.intern("user.created")));
    EXPECT_EQ(classified, 4) << "each type's name is looked at once";
}

// A type name the registry cannot hold (64 bytes and more) is named as too
// long, not taken for a full registry; 63 bytes fit.
TEST(Routing, ATypeNameTooLongForTheRegistryIsNamed) {
    type_registry types;
    const std::string fits(type_registry::max_name - 1, 'a'), too_long(type_registry::max_name, 'b');
    routing_table ok({"analytics"}, {{fits, {"analytics"}}}, types);
    EXPECT_EQ(ok.route(types.find(fits)), 1);
    try {
        routing_table bad({"analytics"}, {{too_long, {"analytics"}}}, types);
        FAIL() << "a 64-byte type name was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), "routing." + too_long + ": name too long");
    }
}
