#include "cgroups/device_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace podshim::cgroups {
namespace {

using nlohmann::json;

DeviceRules Parse(const char* text) {
  auto r = ParseDeviceRules(json::parse(text));
  EXPECT_TRUE(r) << r.error().ToString();
  return r ? *r : DeviceRules{};
}

std::string ParseError(const char* text) {
  auto r = ParseDeviceRules(json::parse(text));
  EXPECT_FALSE(r);
  if (r) return "";
  EXPECT_EQ(r.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  return r.error().ToString();
}

TEST(DeviceRulesTest, RuncSpecDenyAllGetsTheDefaults) {
  DeviceRules rules = Parse(R"([{"allow":false,"access":"rwm"}])");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0],
            (DeviceRule{false, DeviceType::kAll, std::nullopt, std::nullopt, kDeviceAllAccess}));
  EXPECT_EQ(DeviceRuleString(rules[0]), "a *:* rwm");
}

TEST(DeviceRulesTest, PodmanShapes) {
  DeviceRules rules = Parse(R"([
    {"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
    {"allow":true,"type":"c","major":136,"access":"rwm"},
    {"allow":true,"type":"b","access":"m"},
    {"allow":true,"type":"c","major":5,"minor":2,"access":"wr"}])");
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(DeviceRuleString(rules[1]), "c 1:3 rwm");
  EXPECT_EQ(rules[1].major, 1u);
  EXPECT_EQ(rules[1].minor, 3u);
  EXPECT_EQ(DeviceRuleString(rules[2]), "c 136:* rwm");
  EXPECT_EQ(DeviceRuleString(rules[3]), "b *:* m");
  EXPECT_EQ(rules[3].access, kDeviceMknod);
  EXPECT_EQ(rules[4].access, kDeviceRead | kDeviceWrite);
  EXPECT_TRUE(rules[4].allow);
  EXPECT_EQ(rules[4].type, DeviceType::kChar);
}

TEST(DeviceRulesTest, WildcardsNullAndMinusOne) {
  DeviceRules rules = Parse(R"([{"allow":true,"type":"c","major":-1,"minor":null,"access":"mrw"},
               {"allow":true,"type":null,"major":4294967295,"minor":0,"access":"rrwwmm"}])");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(DeviceRuleString(rules[0]), "c *:* rwm");
  EXPECT_EQ(DeviceRuleString(rules[1]), "a 4294967295:0 rwm");
  EXPECT_EQ(rules[1].minor, 0u);  // 0 is a minor, not a wildcard
}

TEST(DeviceRulesTest, NullAndEmptyListsHaveNoRules) {
  EXPECT_TRUE(Parse("null").empty());
  EXPECT_TRUE(Parse("[]").empty());
}

TEST(DeviceRulesTest, ErrorsNameTheField) {
  EXPECT_EQ(
      ParseError(
          R"([{"allow":true,"access":"r"},{"allow":true,"access":"w"},{"allow":true,"access":"rwx"}])"),
      "linux.resources.devices[2].access: \"rwx\" has \"x\": only r, w and m are allowed");
  EXPECT_EQ(ParseError(R"([{"allow":true,"type":"u"}])"),
            "linux.resources.devices[0].type: \"u\" is not a device type (a, b or c)");
  EXPECT_EQ(ParseError(R"([{"allow":true,"type":1}])"),
            "linux.resources.devices[0].type: must be a string");
  EXPECT_EQ(ParseError(R"([{"access":"rwm"}])"),
            "linux.resources.devices[0].allow: is required (true or false)");
  EXPECT_EQ(ParseError(R"([{"allow":"yes"}])"),
            "linux.resources.devices[0].allow: must be true or false");
  EXPECT_EQ(ParseError(R"([{"allow":true,"major":-2}])"),
            "linux.resources.devices[0].major: -2 is out of range (0 to 4294967295, -1 for any)");
  EXPECT_EQ(ParseError(R"([{"allow":true,"minor":4294967296}])"),
            "linux.resources.devices[0].minor: 4294967296 is out of range (0 to 4294967295, -1 "
            "for any)");
  EXPECT_EQ(ParseError(R"([{"allow":true,"minor":1.5}])"),
            "linux.resources.devices[0].minor: must be an integer");
  EXPECT_EQ(ParseError(R"([{"allow":true,"access":7}])"),
            "linux.resources.devices[0].access: must be a string");
  // runc refuses an empty access too ("device access at 0 field cannot be empty").
  for (const char* no_access : {R"([{"allow":false}])", R"([{"allow":false,"access":null}])",
                                R"([{"allow":false,"access":""}])"}) {
    EXPECT_EQ(ParseError(no_access),
              "linux.resources.devices[0].access: is required (a combination of r, w and m)");
  }
  EXPECT_EQ(ParseError(R"([7])"), "linux.resources.devices[0]: must be an object");
  EXPECT_EQ(ParseError(R"({"allow":true})"), "linux.resources.devices: must be an array");
}

TEST(DeviceRulesTest, TooManyRulesNamesTheLimit) {
  json many = json::array();
  for (size_t i = 0; i <= kMaxDeviceRules; ++i)
    many.push_back({{"allow", true}, {"access", "rwm"}});
  auto r = ParseDeviceRules(many, "devices");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "devices: 4097 rules, at most 4096 are allowed");
  many.erase(many.begin());
  EXPECT_TRUE(ParseDeviceRules(many));
}

TEST(DeviceRulesTest, FromResourcesText) {
  auto none = ParseDeviceRulesFromResources(R"({"memory":{"limit":1048576}})");
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_FALSE(none->has_value());  // no "devices": leave the filter alone

  auto some = ParseDeviceRulesFromResources(
      R"({"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"}]})");
  ASSERT_TRUE(some) << some.error().ToString();
  ASSERT_TRUE(some->has_value());
  ASSERT_EQ((*some)->size(), 2u);
  EXPECT_EQ(DeviceRuleString((**some)[1]), "c 1:5 rwm");

  auto bad = ParseDeviceRulesFromResources(R"({"devices":[{"allow":true,"type":"x"}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(),
            "linux.resources.devices[0].type: \"x\" is not a device type (a, b or c)");
  auto garbage = ParseDeviceRulesFromResources("{");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().ToString(), "linux.resources: not valid JSON");
  EXPECT_FALSE(ParseDeviceRulesFromResources("[]"));
}

TEST(DeviceRulesTest, RuncDefaultsAreAppendedAfterTheSpecRules) {
  DeviceRules spec = Parse(R"([{"allow":false,"access":"rwm"}])");
  DeviceRules all = WithDefaultDevices(spec, {});
  std::vector<std::string> got;
  for (const DeviceRule& r : all)
    got.push_back((r.allow ? "allow " : "deny ") + DeviceRuleString(r));
  EXPECT_EQ(got,
            (std::vector<std::string>{
                "deny a *:* rwm", "allow c *:* m", "allow b *:* m", "allow c 1:3 rwm",
                "allow c 1:8 rwm", "allow c 1:7 rwm", "allow c 5:0 rwm", "allow c 1:5 rwm",
                "allow c 1:9 rwm", "allow c 136:* rwm", "allow c 5:2 rwm", "allow c 10:200 rwm"}));
  // A linux.devices entry at a default's path replaces that default (runc's createDevices).
  std::vector<std::string> paths = {"/dev/null", "/dev/fuse"};
  DeviceRules without_null = WithDefaultDevices(spec, paths);
  EXPECT_EQ(without_null.size(), all.size() - 1);
  EXPECT_EQ(std::ranges::count(without_null, std::optional<uint32_t>(3), &DeviceRule::minor), 0);
}

}  // namespace
}  // namespace podshim::cgroups
