// ParseSpec/LoadSpec: valid configs (minimal, runc-style, every supported field), unknown
// properties, and invalid configs whose errors name the JSON path of the bad property.
#include "oci/spec_parse.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/sys.h"

namespace podshim::oci {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& name) {
  auto text =
      sys::ReadFile(std::filesystem::path(PODSHIM_SOURCE_DIR) / "tests/fixtures/data/oci" / name);
  EXPECT_TRUE(text.has_value()) << name;
  return text.value_or("");
}

// A small valid config with a process and a linux section, for the invalid cases to break.
json BaseConfig() {
  return json::parse(R"({
    "ociVersion": "1.1.0",
    "root": {"path": "rootfs"},
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}]}
  })");
}

TEST(SpecParseTest, BaseConfigIsValid) {
  auto spec = ParseSpec(BaseConfig().dump());
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->linux_config.namespaces.size(), 3u);
}

// A map key from config.json is part of the path in a message: escaped, so it stays one line.
TEST(SpecParseTest, MapKeysInErrorPathsAreEscaped) {
  json j = BaseConfig();
  j["linux"]["sysctl"] = {{"net.\nx", 1}};
  auto spec = ParseSpec(j.dump());
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().ToString().find("linux.sysctl[\"net.\\nx\"]"), std::string::npos)
      << spec.error().ToString();
  EXPECT_EQ(spec.error().ToString().find('\n'), std::string::npos) << spec.error().ToString();
}

TEST(SpecParseTest, Minimal) {
  auto spec = ParseSpec(Fixture("minimal.json"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->oci_version, "1.0.2");
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_FALSE(spec->root.readonly);
  EXPECT_FALSE(spec->process.has_value());
  EXPECT_FALSE(spec->hostname.has_value());
  EXPECT_TRUE(spec->mounts.empty());
  EXPECT_TRUE(spec->linux_config.namespaces.empty());
  EXPECT_FALSE(spec->linux_config.seccomp.has_value());
  EXPECT_TRUE(spec->linux_config.resources_json.empty());
}

TEST(SpecParseTest, RuncStyleDefault) {
  auto spec = ParseSpec(Fixture("runc_default.json"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  ASSERT_TRUE(spec->process.has_value());
  const Process& p = *spec->process;
  EXPECT_TRUE(p.terminal);  // parsed; rejecting a terminal is the CLI's decision
  EXPECT_EQ(p.args, std::vector<std::string>{"sh"});
  EXPECT_EQ(p.env.size(), 2u);
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding.size(), 3u);
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_FALSE(p.oom_score_adj.has_value());
  EXPECT_EQ(spec->hostname, "runc");
  EXPECT_EQ(spec->mounts.size(), 7u);
  EXPECT_EQ(spec->mounts[1].options[2], "mode=755");
  EXPECT_EQ(spec->linux_config.namespaces.size(), 6u);
  EXPECT_EQ(spec->linux_config.namespaces[5].type, NamespaceType::kCgroup);
  EXPECT_EQ(spec->linux_config.masked_paths.size(), 10u);
  EXPECT_EQ(spec->linux_config.readonly_paths.size(), 5u);
  EXPECT_EQ(json::parse(spec->linux_config.resources_json),
            json::parse(R"({"devices": [{"allow": false, "access": "rwm"}]})"));
}

TEST(SpecParseTest, EverySupportedField) {
  auto spec = ParseSpec(Fixture("full.json"));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->oci_version, "1.2.0");
  EXPECT_EQ(spec->root.path, "/var/lib/bundles/web/rootfs");
  ASSERT_EQ(spec->mounts.size(), 3u);
  EXPECT_EQ(spec->mounts[0].type, "bind");
  EXPECT_EQ(spec->mounts[0].source, "/srv/data");
  EXPECT_EQ(spec->mounts[2].type, "");
  EXPECT_EQ(spec->mounts[2].source, "");

  const Process& p = spec->process.value();
  EXPECT_FALSE(p.terminal);
  ASSERT_TRUE(p.console_size.has_value());
  EXPECT_EQ(p.console_size->height, 24u);
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(p.user.umask, 022u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6, 4294967294u}));
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/server", "--port", "8080"}));
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/bin", "EMPTY="}));
  EXPECT_EQ(p.cwd, "/srv");
  EXPECT_EQ(p.capabilities->ambient, std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 4096u);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[1].resource, RLIMIT_CORE);
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.oom_score_adj, -500);
  EXPECT_EQ(p.apparmor_profile, "podshim-default");
  EXPECT_FALSE(p.selinux_label.empty());
  EXPECT_EQ(spec->hostname, "web-0");
  EXPECT_EQ(spec->domainname, "example.test");

  const Linux& l = spec->linux_config;
  ASSERT_EQ(l.namespaces.size(), 8u);
  EXPECT_EQ(l.namespaces[1].type, NamespaceType::kNetwork);
  EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/web");
  EXPECT_FALSE(l.namespaces[0].path.has_value());
  EXPECT_EQ(l.namespaces[7].type, NamespaceType::kTime);
  ASSERT_EQ(l.uid_mappings.size(), 1u);
  EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(l.uid_mappings[0].size, 65536u);
  EXPECT_EQ(l.gid_mappings[0].host_id, 200000u);
  EXPECT_EQ(l.rootfs_propagation, "rslave");
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  ASSERT_TRUE(l.seccomp.has_value());
  EXPECT_EQ(l.seccomp->default_action, SeccompAction::kErrno);
  EXPECT_EQ(l.seccomp->default_errno_ret, 38u);
  EXPECT_EQ(l.seccomp->architectures.size(), 3u);
  EXPECT_EQ(l.seccomp->flags[1], "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
  ASSERT_EQ(l.seccomp->syscalls.size(), 3u);
  const SeccompSyscall& personality = l.seccomp->syscalls[1];
  ASSERT_EQ(personality.args.size(), 2u);
  EXPECT_EQ(personality.args[1].index, 1u);
  EXPECT_EQ(personality.args[1].value, 255u);
  EXPECT_EQ(personality.args[1].value_two, 8u);
  EXPECT_EQ(personality.args[1].op, SeccompOp::kMaskedEqual);
  EXPECT_EQ(l.seccomp->syscalls[2].errno_ret, 1u);
  ASSERT_EQ(l.devices.size(), 2u);
  EXPECT_EQ(l.devices[0].major, 10);
  EXPECT_EQ(l.devices[0].minor, 229);
  EXPECT_EQ(l.devices[0].file_mode, 0666u);
  EXPECT_EQ(l.devices[1].type, "p");
  EXPECT_FALSE(l.devices[1].file_mode.has_value());
  EXPECT_EQ(l.resources.memory_limit, 536870912);
  EXPECT_EQ(l.resources.cpu_shares, 512u);
  EXPECT_EQ(l.resources.cpu_quota, 50000);
  EXPECT_EQ(l.resources.cpu_period, 100000u);
  EXPECT_EQ(l.resources.pids_limit, 128);
  EXPECT_EQ(json::parse(l.resources_json)["memory"]["reservation"], 268435456);
  EXPECT_EQ(l.cgroups_path, "/podshim/web");
  EXPECT_FALSE(l.mount_label.empty());

  const Hooks& h = spec->hooks;
  ASSERT_EQ(h.prestart.size(), 1u);
  EXPECT_EQ(h.prestart[0].args, (std::vector<std::string>{"fix-mounts", "arg1"}));
  EXPECT_EQ(h.prestart[0].env, std::vector<std::string>{"key1=value1"});
  EXPECT_FALSE(h.prestart[0].timeout.has_value());
  EXPECT_EQ(h.create_runtime[0].path, "/usr/bin/setup-network");
  EXPECT_EQ(h.create_container[0].timeout, 5);
  EXPECT_EQ(h.start_container.size(), 1u);
  EXPECT_EQ(h.poststart.size(), 1u);
  EXPECT_EQ(h.poststop[0].path, "/usr/sbin/cleanup.sh");
  EXPECT_EQ(spec->annotations.at("com.example.key2"), "value2");
}

TEST(SpecParseTest, UnknownPropertiesAreIgnoredAtEveryLevel) {
  json config = BaseConfig();
  config["futureTopLevel"] = {{"a", 1}};
  config["root"]["futureRoot"] = true;
  config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
  config["process"]["user"]["username"] = "ignored";
  config["process"]["rlimits"][0]["x-extra"] = "ignored";
  config["linux"]["personality"] = {{"domain", "LINUX"}};
  config["linux"]["namespaces"][0]["x-extra"] = 7;
  auto spec = ParseSpec(config.dump());
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->process->rlimits[0].soft, 1024u);
}

TEST(SpecParseTest, NullIsTreatedAsAbsent) {
  json config = BaseConfig();
  config["hostname"] = nullptr;
  config["process"]["capabilities"] = nullptr;
  auto spec = ParseSpec(config.dump());
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_FALSE(spec->hostname.has_value());
  EXPECT_FALSE(spec->process->capabilities.has_value());
}

TEST(SpecParseTest, EmptyCapabilitySetsMeanDropAll) {
  json config = BaseConfig();
  config["process"]["capabilities"] = json::object();
  auto spec = ParseSpec(config.dump());
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  ASSERT_TRUE(spec->process->capabilities.has_value());
  EXPECT_TRUE(spec->process->capabilities->bounding.empty());
}

TEST(SpecParseTest, HighestSettableIdsAreAccepted) {
  json config = BaseConfig();
  config["process"]["user"] = {
      {"uid", 4294967294u}, {"gid", 4294967294u}, {"additionalGids", {4294967294u}}};
  // The init namespace's own map, "0 0 4294967295", ends at the highest mappable id.
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 4294967295u}}};
  auto spec = ParseSpec(config.dump());
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->process->user.uid, 4294967294u);
  EXPECT_EQ(spec->process->user.gid, 4294967294u);
  EXPECT_EQ(spec->linux_config.uid_mappings.at(0).size, 4294967295u);
}

struct InvalidCase {
  const char* name;
  const char* pointer;  // JSON pointer into BaseConfig(); "" replaces nothing
  const char* value;    // JSON text to put there; nullptr removes the property
  const char* error;    // the expected error context
};

class SpecParseInvalidTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(SpecParseInvalidTest, ErrorNamesTheJsonPath) {
  const InvalidCase& c = GetParam();
  json config = BaseConfig();
  json::json_pointer ptr(c.pointer);
  if (c.value == nullptr) {
    config[ptr.parent_pointer()].erase(ptr.back());
  } else {
    config[ptr] = json::parse(c.value);
  }
  auto spec = ParseSpec(config.dump());
  ASSERT_FALSE(spec.has_value()) << "accepted " << config.dump();
  EXPECT_EQ(spec.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_EQ(spec.error().context(), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecParseInvalidTest,
    testing::Values(
        InvalidCase{"RlimitHardNegative", "/process/rlimits/0/hard", "-1",
                    "config.json: process.rlimits[0].hard: expected an unsigned integer"},
        InvalidCase{"RlimitHardString", "/process/rlimits/0/hard", R"("1024")",
                    "config.json: process.rlimits[0].hard: expected an unsigned integer"},
        InvalidCase{"RlimitUnknownType", "/process/rlimits/0/type", R"("RLIMIT_BOGUS")",
                    "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_BOGUS\""},
        InvalidCase{"RlimitSoftAboveHard", "/process/rlimits/0/soft", "2048",
                    "config.json: process.rlimits[0].soft: soft limit 2048 exceeds hard limit "
                    "1024"},
        InvalidCase{"RlimitDuplicate", "/process/rlimits/1",
                    R"({"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1})",
                    "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
        InvalidCase{"NamespaceUnknown", "/linux/namespaces/2/type", R"("foo")",
                    "config.json: linux.namespaces[2].type: unknown namespace \"foo\""},
        InvalidCase{"NamespaceDuplicate", "/linux/namespaces/2/type", R"("pid")",
                    "config.json: linux.namespaces[2].type: duplicate namespace \"pid\""},
        InvalidCase{"NamespaceRelativePath", "/linux/namespaces/0/path", R"("proc/1/ns/pid")",
                    "config.json: linux.namespaces[0].path: must be an absolute path, got "
                    "\"proc/1/ns/pid\""},
        InvalidCase{"ArgsMissing", "/process/args", nullptr, "config.json: process.args: required"},
        InvalidCase{"ArgsEmpty", "/process/args", "[]",
                    "config.json: process.args: must have at least one entry"},
        InvalidCase{"ArgsNotStrings", "/process/args", R"(["sh", 1])",
                    "config.json: process.args[1]: expected a string, got an integer"},
        InvalidCase{"RootPathMissing", "/root/path", nullptr, "config.json: root.path: required"},
        InvalidCase{"RootMissing", "/root", nullptr, "config.json: root: required"},
        InvalidCase{"RootReadonlyNotBool", "/root/readonly", R"("yes")",
                    "config.json: root.readonly: expected a boolean, got string"},
        InvalidCase{"OciVersionMissing", "/ociVersion", nullptr,
                    "config.json: ociVersion: required"},
        InvalidCase{"OciVersionTwo", "/ociVersion", R"("2.0.0")",
                    "config.json: ociVersion: unsupported version \"2.0.0\" (podshim supports "
                    "1.x)"},
        InvalidCase{"CwdRelative", "/process/cwd", R"("srv")",
                    "config.json: process.cwd: must be an absolute path, got \"srv\""},
        InvalidCase{"CwdMissing", "/process/cwd", nullptr, "config.json: process.cwd: required"},
        InvalidCase{"UidTooLarge", "/process/user/uid", "4294967296",
                    "config.json: process.user.uid: out of range (at most 4294967295)"},
        InvalidCase{"UidNoChange", "/process/user/uid", "4294967295",
                    "config.json: process.user.uid: 4294967295 cannot be set (it means \"no "
                    "change\" to the kernel)"},
        InvalidCase{"GidNoChange", "/process/user/gid", "4294967295",
                    "config.json: process.user.gid: 4294967295 cannot be set (it means \"no "
                    "change\" to the kernel)"},
        InvalidCase{"AdditionalGidNoChange", "/process/user/additionalGids", "[5, 4294967295]",
                    "config.json: process.user.additionalGids[1]: 4294967295 cannot be set (it "
                    "means \"no change\" to the kernel)"},
        InvalidCase{"UidMappingHostIdNoChange", "/linux/uidMappings",
                    R"([{"containerID": 0, "hostID": 4294967295, "size": 1}])",
                    "config.json: linux.uidMappings[0].hostID: 4294967295 cannot be set (it "
                    "means \"no change\" to the kernel)"},
        InvalidCase{"GidMappingContainerIdNoChange", "/linux/gidMappings",
                    R"([{"containerID": 4294967295, "hostID": 0, "size": 1}])",
                    "config.json: linux.gidMappings[0].containerID: 4294967295 cannot be set (it "
                    "means \"no change\" to the kernel)"},
        InvalidCase{"UidMappingRangeReachesNoChange", "/linux/uidMappings",
                    R"([{"containerID": 0, "hostID": 4294967200, "size": 100}])",
                    "config.json: linux.uidMappings[0].size: range 4294967200+100 goes past "
                    "4294967294, the highest id that can be mapped"},
        InvalidCase{"DeviceUidNoChange", "/linux/devices",
                    R"([{"type": "c", "path": "/dev/null", "major": 1, "minor": 3,
                         "uid": 4294967295}])",
                    "config.json: linux.devices[0].uid: 4294967295 cannot be set (it means \"no "
                    "change\" to the kernel)"},
        InvalidCase{"DeviceGidNoChange", "/linux/devices",
                    R"([{"type": "c", "path": "/dev/null", "major": 1, "minor": 3,
                         "gid": 4294967295}])",
                    "config.json: linux.devices[0].gid: 4294967295 cannot be set (it means \"no "
                    "change\" to the kernel)"},
        InvalidCase{"GidMissing", "/process/user/gid", nullptr,
                    "config.json: process.user.gid: required"},
        InvalidCase{"EnvWithoutEquals", "/process/env", R"(["A=1", "B"])",
                    "config.json: process.env[1]: expected KEY=value, got \"B\""},
        InvalidCase{"OomScoreAdjRange", "/process/oomScoreAdj", "1001",
                    "config.json: process.oomScoreAdj: must be between -1000 and 1000"},
        InvalidCase{"OomScoreAdjFloat", "/process/oomScoreAdj", "1.5",
                    "config.json: process.oomScoreAdj: expected an integer"},
        InvalidCase{"CapabilitiesNotObject", "/process/capabilities", R"(["CAP_KILL"])",
                    "config.json: process.capabilities: expected an object, got array"},
        InvalidCase{"CapabilityNotString", "/process/capabilities", R"({"bounding": [true]})",
                    "config.json: process.capabilities.bounding[0]: expected a string, got "
                    "boolean"},
        InvalidCase{"ProcessNotObject", "/process", R"("sh")",
                    "config.json: process: expected an object, got string"},
        InvalidCase{"MountDestinationMissing", "/mounts", R"([{"type": "proc"}])",
                    "config.json: mounts[0].destination: required"},
        InvalidCase{"MountOptionsNotArray", "/mounts",
                    R"([{"destination": "/proc", "options": "ro"}])",
                    "config.json: mounts[0].options: expected an array, got string"},
        InvalidCase{"RootfsPropagation", "/linux/rootfsPropagation", R"("sideways")",
                    "config.json: linux.rootfsPropagation: unknown propagation \"sideways\" "
                    "(expected shared, slave, private or unbindable)"},
        InvalidCase{"SeccompUnknownDefaultAction", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_EXPLODE"})",
                    "config.json: linux.seccomp.defaultAction: unknown seccomp action "
                    "\"SCMP_ACT_EXPLODE\""},
        InvalidCase{"SeccompUnknownAction", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                                     {"names": ["kill"], "action": "SCMP_ACT_NOPE"}]})",
                    "config.json: linux.seccomp.syscalls[1].action: unknown seccomp action "
                    "\"SCMP_ACT_NOPE\""},
        InvalidCase{"SeccompUnknownOp", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                      "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_XX"}]}]})",
                    "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp "
                    "operator \"SCMP_CMP_XX\""},
        InvalidCase{"SeccompArgIndex", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                      "args": [{"index": 6, "value": 9, "op": "SCMP_CMP_EQ"}]}]})",
                    "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 "
                    "and 5 (a syscall has 6 arguments)"},
        InvalidCase{"SeccompUnknownArch", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})",
                    "config.json: linux.seccomp.architectures[0]: unknown seccomp architecture "
                    "\"SCMP_ARCH_VAX\""},
        InvalidCase{"SeccompUnknownFlag", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]})",
                    "config.json: linux.seccomp.flags[0]: unknown seccomp flag "
                    "\"SECCOMP_FILTER_FLAG_X\""},
        InvalidCase{"SeccompNamesEmpty", "/linux/seccomp",
                    R"({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})",
                    "config.json: linux.seccomp.syscalls[0].names: must have at least one entry"},
        InvalidCase{"DeviceUnknownType", "/linux/devices",
                    R"([{"type": "x", "path": "/dev/x", "major": 1, "minor": 1}])",
                    "config.json: linux.devices[0].type: unknown device type \"x\" (expected c, "
                    "b, u or p)"},
        InvalidCase{"DeviceMajorMissing", "/linux/devices",
                    R"([{"type": "c", "path": "/dev/null", "minor": 3}])",
                    "config.json: linux.devices[0].major: required"},
        InvalidCase{"UidMappingSizeZero", "/linux/uidMappings",
                    R"([{"containerID": 0, "hostID": 1000, "size": 0}])",
                    "config.json: linux.uidMappings[0].size: must be greater than zero"},
        InvalidCase{"MaskedPathRelative", "/linux/maskedPaths", R"(["/proc/kcore", "proc/keys"])",
                    "config.json: linux.maskedPaths[1]: must be an absolute path, got "
                    "\"proc/keys\""},
        InvalidCase{"SysctlValueNotString", "/linux/sysctl", R"({"net.ipv4.ip_forward": 1})",
                    "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got "
                    "an integer"},
        InvalidCase{"ResourcesMemoryLimitString", "/linux/resources",
                    R"({"memory": {"limit": "1G"}})",
                    "config.json: linux.resources.memory.limit: expected an integer"},
        InvalidCase{"HookTimeoutZero", "/hooks",
                    R"({"poststop": [{"path": "/bin/true"}, {"path": "/bin/x", "timeout": 0}]})",
                    "config.json: hooks.poststop[1].timeout: must be greater than zero"},
        InvalidCase{"HookPathRelative", "/hooks", R"({"createRuntime": [{"path": "true"}]})",
                    "config.json: hooks.createRuntime[0].path: must be an absolute path, got "
                    "\"true\""},
        InvalidCase{"AnnotationValueNotString", "/annotations", R"({"a": {"b": "c"}})",
                    "config.json: annotations[\"a\"]: expected a string, got object"},
        InvalidCase{"HostnameNotString", "/hostname", "42",
                    "config.json: hostname: expected a string, got an integer"},
        InvalidCase{"LinuxNotObject", "/linux", "[]",
                    "config.json: linux: expected an object, got array"}),
    [](const testing::TestParamInfo<InvalidCase>& info) { return std::string(info.param.name); });

TEST(SpecParseTest, InvalidJsonIsReportedWithItsPosition) {
  auto spec = ParseSpec(R"({"ociVersion": "1.0.0", "root": {"path": "rootfs"},})");
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_TRUE(spec.error().context().starts_with("config.json: invalid JSON: "))
      << spec.error().context();
  EXPECT_NE(spec.error().context().find("column"), std::string::npos) << spec.error().context();
}

TEST(SpecParseTest, TopLevelMustBeAnObject) {
  auto spec = ParseSpec("[1, 2]");
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().context(), "config.json: expected a JSON object at the top level");
}

TEST(SpecParseTest, IdMappedMountsAreUnsupported) {
  json config = BaseConfig();
  config["mounts"] = json::parse(
      R"([{"destination": "/m", "type": "bind", "source": "/s",
           "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}])");
  auto spec = ParseSpec(config.dump());
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().code(), make_error_code(ErrorCode::kUnsupported));
  EXPECT_EQ(spec.error().context(),
            "config.json: mounts[0].uidMappings: id-mapped mounts are not supported");
}

class LoadSpecTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/podshim-spec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void WriteConfig(const std::string& text) {
    ASSERT_TRUE(sys::WriteFile(dir_ / "config.json", text).has_value());
  }
  std::filesystem::path dir_;
};

TEST_F(LoadSpecTest, RelativeRootIsMadeAbsoluteAgainstTheBundle) {
  WriteConfig(R"({"ociVersion": "1.0.0", "root": {"path": "./rootfs/"}})");
  auto spec = LoadSpec(dir_);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->root.path, (dir_ / "rootfs").string());
}

TEST_F(LoadSpecTest, RelativeBundleDirIsResolved) {
  WriteConfig(R"({"ociVersion": "1.0.0", "root": {"path": "rootfs"}})");
  std::filesystem::path old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_.parent_path());
  auto spec = LoadSpec(dir_.filename());
  std::filesystem::current_path(old_cwd);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->root.path, (dir_ / "rootfs").string());
}

TEST_F(LoadSpecTest, AbsoluteRootIsKept) {
  WriteConfig(R"({"ociVersion": "1.0.0", "root": {"path": "/srv/images/alpine"}})");
  auto spec = LoadSpec(dir_);
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->root.path, "/srv/images/alpine");
}

TEST_F(LoadSpecTest, ErrorsNameTheBundle) {
  WriteConfig(R"({"ociVersion": "1.0.0", "root": {}})");
  auto spec = LoadSpec(dir_);
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().context(), dir_.string() + ": config.json: root.path: required");
}

TEST_F(LoadSpecTest, MissingConfigIsNotFound) {
  auto spec = LoadSpec(dir_);
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().code(), std::error_code(ENOENT, std::system_category()));
  EXPECT_NE(spec.error().context().find("config.json"), std::string::npos);
}

}  // namespace
}  // namespace podshim::oci
