// The OCI `linux.resources.devices` list as podshim enforces it on cgroup v2: parsed, defaults
// applied (type "a", any major/minor) and every field checked, errors naming the
// field (`linux.resources.devices[2].access: ...`). Pure; device_program.h turns it into BPF.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::cgroups {

// The kernel's BPF_DEVCG_DEV_* values; kAll matches both.
enum class DeviceType : uint8_t { kAll = 0, kBlock = 1, kChar = 2 };

// Access bits, the kernel's BPF_DEVCG_ACC_* values (linux/bpf.h).
inline constexpr uint32_t kDeviceMknod = 1;  // 'm'
inline constexpr uint32_t kDeviceRead = 2;   // 'r'
inline constexpr uint32_t kDeviceWrite = 4;  // 'w'
inline constexpr uint32_t kDeviceAllAccess = kDeviceMknod | kDeviceRead | kDeviceWrite;

// The most rules a spec may list (each becomes at most 7 BPF instructions).
inline constexpr size_t kMaxDeviceRules = 4096;

struct DeviceRule {
  bool allow = false;
  DeviceType type = DeviceType::kAll;
  std::optional<uint32_t> major;       // nullopt: any major
  std::optional<uint32_t> minor;       // nullopt: any minor
  uint32_t access = kDeviceAllAccess;  // kDevice* bits, never 0
  bool operator==(const DeviceRule&) const = default;
};

// In spec order; the last rule matching a device decides each access bit, default deny.
using DeviceRules = std::vector<DeviceRule>;

// Parses the JSON array `devices` (the value of linux.resources.devices); `field` names it in
// errors. null is an empty list. Errors are kInvalidSpec and name the field of the rule.
Result<DeviceRules> ParseDeviceRules(const nlohmann::json& devices,
                                     std::string_view field = "linux.resources.devices");

// The same from the text of a `linux.resources` object (what `update --resources` reads): its
// "devices" member, absent meaning nullopt (leave the device filter as it is).
Result<std::optional<DeviceRules>> ParseDeviceRulesFromResources(std::string_view resources_json);

// `rules` followed by the rules runc 1.1 appends to every container's list (so they win): mknod
// of any char or block device, and rwm of /dev/null, random, full, tty, zero, urandom, pts/*
// (136:*), ptmx (5:2) and net/tun (10:200). A default naming a path that linux.devices also
// lists (`spec_device_paths`) is left out, as runc does (the spec's device takes priority).
DeviceRules WithDefaultDevices(DeviceRules rules, std::span<const std::string> spec_device_paths);

// "c 1:3 rwm", "a *:* rwm": a rule in cgroup v1's devices.allow notation, for logs and errors.
std::string DeviceRuleString(const DeviceRule& rule);

}  // namespace podshim::cgroups
