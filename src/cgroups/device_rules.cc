#include "cgroups/device_rules.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

using nlohmann::json;

Result<DeviceType> ParseType(const json& rule, const std::string& field) {
  auto it = rule.find("type");
  if (it == rule.end() || it->is_null()) return DeviceType::kAll;
  if (!it->is_string()) return Error::Invalid(field + ".type: must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s == "a") return DeviceType::kAll;
  if (s == "b") return DeviceType::kBlock;
  if (s == "c") return DeviceType::kChar;
  return Error::Invalid(field + ".type: " + Quoted(s) + " is not a device type (a, b or c)");
}

// major/minor: absent, null or -1 (runc's own "any") is a wildcard; else 0..4294967295.
Result<std::optional<uint32_t>> ParseNumber(const json& rule, const char* key,
                                            const std::string& field) {
  auto it = rule.find(key);
  if (it == rule.end() || it->is_null()) return std::optional<uint32_t>();
  const std::string name = field + "." + key;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > std::numeric_limits<uint32_t>::max()) {
      return Error::Invalid(name + ": " + std::to_string(v) +
                            " is out of range (0 to 4294967295, -1 for any)");
    }
    return std::optional<uint32_t>(static_cast<uint32_t>(v));
  }
  if (it->is_number_integer()) {  // signed and negative
    int64_t v = it->get<int64_t>();
    if (v == -1) return std::optional<uint32_t>();
    return Error::Invalid(name + ": " + std::to_string(v) +
                          " is out of range (0 to 4294967295, -1 for any)");
  }
  return Error::Invalid(name + ": must be an integer");
}

// access: a non-empty combination of r, w and m, required (runc refuses an empty one too).
Result<uint32_t> ParseAccess(const json& rule, const std::string& field) {
  auto it = rule.find("access");
  if (it != rule.end() && !it->is_null() && !it->is_string()) {
    return Error::Invalid(field + ".access: must be a string");
  }
  if (it == rule.end() || it->is_null() || it->get_ref<const std::string&>().empty()) {
    return Error::Invalid(field + ".access: is required (a combination of r, w and m)");
  }
  const auto& s = it->get_ref<const std::string&>();
  uint32_t bits = 0;
  for (char c : s) {
    switch (c) {
      case 'r':
        bits |= kDeviceRead;
        break;
      case 'w':
        bits |= kDeviceWrite;
        break;
      case 'm':
        bits |= kDeviceMknod;
        break;
      default:
        return Error::Invalid(field + ".access: " + Quoted(s) + " has " +
                              Quoted(std::string_view(&c, 1)) + ": only r, w and m are allowed");
    }
  }
  return bits;
}

Result<DeviceRule> ParseRule(const json& rule, const std::string& field) {
  if (!rule.is_object()) return Error::Invalid(field + ": must be an object");
  DeviceRule out;
  auto allow = rule.find("allow");
  if (allow == rule.end() || allow->is_null()) {
    return Error::Invalid(field + ".allow: is required (true or false)");
  }
  if (!allow->is_boolean()) return Error::Invalid(field + ".allow: must be true or false");
  out.allow = allow->get<bool>();
  out.type = PODSHIM_TRY(ParseType(rule, field));
  out.major = PODSHIM_TRY(ParseNumber(rule, "major", field));
  out.minor = PODSHIM_TRY(ParseNumber(rule, "minor", field));
  out.access = PODSHIM_TRY(ParseAccess(rule, field));
  return out;
}

}  // namespace

Result<DeviceRules> ParseDeviceRules(const nlohmann::json& devices, std::string_view field) {
  if (devices.is_null()) return DeviceRules{};
  if (!devices.is_array()) return Error::Invalid(std::string(field) + ": must be an array");
  if (devices.size() > kMaxDeviceRules) {
    return Error::Invalid(std::string(field) + ": " + std::to_string(devices.size()) +
                          " rules, at most " + std::to_string(kMaxDeviceRules) + " are allowed");
  }
  DeviceRules rules;
  rules.reserve(devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    auto rule =
        PODSHIM_TRY(ParseRule(devices[i], std::string(field) + "[" + std::to_string(i) + "]"));
    rules.push_back(rule);
  }
  return rules;
}

Result<std::optional<DeviceRules>> ParseDeviceRulesFromResources(std::string_view resources_json) {
  json doc = json::parse(resources_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error::Invalid("linux.resources: not valid JSON");
  if (!doc.is_object()) return Error::Invalid("linux.resources: must be an object");
  auto it = doc.find("devices");
  if (it == doc.end()) return std::optional<DeviceRules>();
  auto rules = PODSHIM_TRY(ParseDeviceRules(*it));
  return std::optional<DeviceRules>(std::move(rules));
}

DeviceRules WithDefaultDevices(DeviceRules rules, std::span<const std::string> spec_device_paths) {
  struct Default {
    const char* path;  // nullptr: kept whatever linux.devices holds
    DeviceType type;
    std::optional<uint32_t> major, minor;
    uint32_t access;
  };
  static const Default kDefaults[] = {
      {nullptr, DeviceType::kChar, {}, {}, kDeviceMknod},
      {nullptr, DeviceType::kBlock, {}, {}, kDeviceMknod},
      {"/dev/null", DeviceType::kChar, 1, 3, kDeviceAllAccess},
      {"/dev/random", DeviceType::kChar, 1, 8, kDeviceAllAccess},
      {"/dev/full", DeviceType::kChar, 1, 7, kDeviceAllAccess},
      {"/dev/tty", DeviceType::kChar, 5, 0, kDeviceAllAccess},
      {"/dev/zero", DeviceType::kChar, 1, 5, kDeviceAllAccess},
      {"/dev/urandom", DeviceType::kChar, 1, 9, kDeviceAllAccess},
      {nullptr, DeviceType::kChar, 136, {}, kDeviceAllAccess},  // /dev/pts/*
      {nullptr, DeviceType::kChar, 5, 2, kDeviceAllAccess},     // /dev/ptmx
      {nullptr, DeviceType::kChar, 10, 200, kDeviceAllAccess},  // /dev/net/tun
  };
  for (const Default& d : kDefaults) {
    if (d.path && std::ranges::find(spec_device_paths, d.path) != spec_device_paths.end()) {
      continue;
    }
    rules.push_back(DeviceRule{true, d.type, d.major, d.minor, d.access});
  }
  return rules;
}

std::string DeviceRuleString(const DeviceRule& rule) {
  char type = rule.type == DeviceType::kBlock ? 'b' : rule.type == DeviceType::kChar ? 'c' : 'a';
  auto num = [](const std::optional<uint32_t>& n) {
    return n ? std::to_string(*n) : std::string("*");
  };
  std::string access;
  if (rule.access & kDeviceRead) access += 'r';
  if (rule.access & kDeviceWrite) access += 'w';
  if (rule.access & kDeviceMknod) access += 'm';
  return std::string(1, type) + " " + num(rule.major) + ":" + num(rule.minor) + " " + access;
}

}  // namespace podshim::cgroups
