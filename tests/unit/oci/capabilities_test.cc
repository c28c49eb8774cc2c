// Capability names <-> values via libcap, set resolution with JSON-path errors, the prepared
// cap_t, and the child's apply sequence run in a forked child (never in the gtest process).
#include "oci/capabilities.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "common/sys.h"

namespace podshim::oci {
namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

TEST(CapabilitiesTest, NamesToValues) {
  EXPECT_EQ(CapabilityFromName("CAP_CHOWN").value(), CAP_CHOWN);
  EXPECT_EQ(CapabilityFromName("CAP_KILL").value(), CAP_KILL);
  EXPECT_EQ(CapabilityFromName("CAP_NET_ADMIN").value(), CAP_NET_ADMIN);
  EXPECT_EQ(CapabilityFromName("CAP_SYS_ADMIN").value(), CAP_SYS_ADMIN);
}

TEST(CapabilitiesTest, ValuesToNames) {
  EXPECT_EQ(CapabilityName(CAP_NET_BIND_SERVICE).value(), "CAP_NET_BIND_SERVICE");
  EXPECT_EQ(CapabilityName(CAP_AUDIT_WRITE).value(), "CAP_AUDIT_WRITE");
  EXPECT_FALSE(CapabilityName(-1).has_value());
  EXPECT_FALSE(CapabilityName(64).has_value());
}

TEST(CapabilitiesTest, UnknownNamesAreErrorsNamingThem) {
  for (const char* name : {"CAP_FOO", "cap_kill", "CAP_", "KILL", "5", ""}) {
    auto value = CapabilityFromName(name);
    ASSERT_FALSE(value.has_value()) << name;
    EXPECT_EQ(value.error().code(), make_error_code(ErrorCode::kInvalidSpec));
    EXPECT_EQ(value.error().context(), std::string("unknown capability \"") + name + "\"");
  }
}

// A name or a cap_last_cap from input with a newline and a non-UTF-8 byte stays one line.
TEST(CapabilitiesTest, ValuesInErrorsAreEscaped) {
  auto value = CapabilityFromName("CAP_\nX\xff");
  ASSERT_FALSE(value.has_value());
  EXPECT_EQ(value.error().context(), "unknown capability \"CAP_\\nX\\xff\"");
  auto last = ParseCapLastCap("4\r0\xff");
  ASSERT_FALSE(last.has_value());
  EXPECT_EQ(last.error().context(),
            "cap_last_cap: expected a number between 0 and 63, got \"4\\r0\\xff\"");
}

TEST(CapabilitiesTest, ParseCapLastCap) {
  EXPECT_EQ(ParseCapLastCap("40\n").value(), 40);
  EXPECT_EQ(ParseCapLastCap("37").value(), 37);
  EXPECT_FALSE(ParseCapLastCap("").has_value());
  EXPECT_FALSE(ParseCapLastCap("forty").has_value());
  EXPECT_FALSE(ParseCapLastCap("40x").has_value());
  EXPECT_FALSE(ParseCapLastCap("64").has_value());
  EXPECT_FALSE(ParseCapLastCap("-1").has_value());
}

TEST(CapabilitiesTest, ReadCapLastCapFromTheKernel) {
  auto last = ReadCapLastCap();
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  EXPECT_GE(*last, CAP_AUDIT_READ);  // 37, Linux 3.16
}

TEST(CapabilitiesTest, ResolveAllFiveSets) {
  LinuxCapabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"};
  caps.effective = {"CAP_KILL"};
  caps.inheritable = {"CAP_NET_BIND_SERVICE"};
  caps.permitted = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.ambient = {"CAP_NET_BIND_SERVICE"};
  auto sets = ResolveCapabilities(caps, 40);
  ASSERT_TRUE(sets.has_value()) << sets.error().ToString();
  EXPECT_EQ(sets->bounding, Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE) | Bit(CAP_AUDIT_WRITE));
  EXPECT_EQ(sets->effective, Bit(CAP_KILL));
  EXPECT_EQ(sets->inheritable, Bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(sets->permitted, Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(sets->ambient, Bit(CAP_NET_BIND_SERVICE));
}

TEST(CapabilitiesTest, EmptySetsAreZero) {
  auto sets = ResolveCapabilities(LinuxCapabilities{}, 40);
  ASSERT_TRUE(sets.has_value());
  EXPECT_EQ(sets->bounding | sets->effective | sets->inheritable | sets->permitted | sets->ambient,
            0u);
}

TEST(CapabilitiesTest, UnknownNameErrorNamesTheJsonPath) {
  LinuxCapabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_CHOWN", "CAP_SETUID", "CAP_NOPE"};
  auto sets = ResolveCapabilities(caps, 40);
  ASSERT_FALSE(sets.has_value());
  EXPECT_EQ(sets.error().context(),
            "config.json: process.capabilities.bounding[3]: unknown capability \"CAP_NOPE\"");

  LinuxCapabilities ambient;
  ambient.ambient = {"CAP_kill"};
  sets = ResolveCapabilities(ambient, 40);
  ASSERT_FALSE(sets.has_value());
  EXPECT_EQ(sets.error().context(),
            "config.json: process.capabilities.ambient[0]: unknown capability \"CAP_kill\"");
}

TEST(CapabilitiesTest, CapabilitiesBeyondTheKernelsLastAreLeftOut) {
  LinuxCapabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_CHECKPOINT_RESTORE"};  // 40: Linux 5.9
  auto sets = ResolveCapabilities(caps, CAP_AUDIT_READ);   // a 3.16..5.8 kernel
  ASSERT_TRUE(sets.has_value()) << sets.error().ToString();
  EXPECT_EQ(sets->bounding, Bit(CAP_KILL));
  sets = ResolveCapabilities(caps, 40);
  ASSERT_TRUE(sets.has_value());
  EXPECT_EQ(sets->bounding, Bit(CAP_KILL) | Bit(40));
}

cap_flag_value_t Flag(cap_t caps, int cap, cap_flag_t flag) {
  cap_flag_value_t value = CAP_CLEAR;
  EXPECT_EQ(::cap_get_flag(caps, cap, flag, &value), 0);
  return value;
}

TEST(CapabilitiesTest, BuildCapStatePreparesTheProcessSets) {
  CapabilitySets sets;
  sets.bounding = Bit(CAP_KILL) | Bit(CAP_CHOWN);
  sets.effective = Bit(CAP_KILL);
  sets.permitted = Bit(CAP_KILL) | Bit(CAP_CHOWN);
  sets.inheritable = Bit(CAP_CHOWN);
  sets.ambient = Bit(CAP_CHOWN);
  auto state = BuildCapState(sets, 40);
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  cap_t caps = state->get();
  ASSERT_NE(caps, nullptr);
  EXPECT_EQ(Flag(caps, CAP_KILL, CAP_EFFECTIVE), CAP_SET);
  EXPECT_EQ(Flag(caps, CAP_CHOWN, CAP_EFFECTIVE), CAP_CLEAR);
  EXPECT_EQ(Flag(caps, CAP_KILL, CAP_PERMITTED), CAP_SET);
  EXPECT_EQ(Flag(caps, CAP_CHOWN, CAP_PERMITTED), CAP_SET);
  EXPECT_EQ(Flag(caps, CAP_CHOWN, CAP_INHERITABLE), CAP_SET);
  EXPECT_EQ(Flag(caps, CAP_KILL, CAP_INHERITABLE), CAP_CLEAR);
  EXPECT_EQ(Flag(caps, CAP_SYS_ADMIN, CAP_PERMITTED), CAP_CLEAR);
  EXPECT_EQ(state->sets().ambient, Bit(CAP_CHOWN));
  EXPECT_EQ(state->last_cap(), 40);

  CapState moved = std::move(*state);
  EXPECT_EQ(moved.get(), caps);
  EXPECT_EQ(state->get(), nullptr);
}

TEST(CapabilitiesTest, BuildCapStateRejectsABadLastCap) {
  EXPECT_FALSE(BuildCapState(CapabilitySets{}, 64).has_value());
  EXPECT_FALSE(BuildCapState(CapabilitySets{}, -1).has_value());
}

// "CapEff" -> mask, from /proc/self/status.
std::map<std::string, uint64_t> ParseStatusCaps(const std::string& status) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("Cap")) continue;
    size_t colon = line.find(':');
    out[line.substr(0, colon)] = std::stoull(line.substr(colon + 1), nullptr, 16);
  }
  return out;
}

TEST(CapabilitiesTest, ApplyInAForkedChildSetsAllFiveSets) {
  auto mine = ParseStatusCaps(sys::ReadFile("/proc/self/status").value_or(""));
  const uint64_t wanted = Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE);
  if ((mine["CapEff"] & Bit(CAP_SETPCAP)) == 0 || (mine["CapPrm"] & wanted) != wanted ||
      (mine["CapBnd"] & wanted) != wanted) {
    GTEST_SKIP() << "needs CAP_SETPCAP, CAP_KILL and CAP_NET_BIND_SERVICE";
  }
  LinuxCapabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.effective = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.permitted = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.inheritable = {"CAP_NET_BIND_SERVICE"};
  caps.ambient = {"CAP_NET_BIND_SERVICE"};
  auto sets = ResolveCapabilities(caps);
  ASSERT_TRUE(sets.has_value()) << sets.error().ToString();
  auto state = BuildCapState(*sets);
  ASSERT_TRUE(state.has_value()) << state.error().ToString();

  auto pipe = sys::Pipe();
  ASSERT_TRUE(pipe.has_value());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int err = ApplyCapStateInChild(*state);
    if (err != 0) ::_exit(100 + (err & 0x7f));
    auto status = sys::ReadFile("/proc/self/status");
    if (!status || !sys::WriteAll(pipe->write.get(), *status)) ::_exit(99);
    ::_exit(0);
  }
  pipe->write.Reset();
  auto status = sys::ReadAll(pipe->read.get());
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0) << "child failed (100+errno)";
  ASSERT_TRUE(status.has_value());
  auto child = ParseStatusCaps(*status);
  EXPECT_EQ(child["CapBnd"], wanted);
  EXPECT_EQ(child["CapEff"], wanted);
  EXPECT_EQ(child["CapPrm"], wanted);
  EXPECT_EQ(child["CapInh"], Bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(child["CapAmb"], Bit(CAP_NET_BIND_SERVICE));
}

TEST(CapabilitiesTest, AmbientWithoutInheritableFailsWithEperm) {
  auto mine = ParseStatusCaps(sys::ReadFile("/proc/self/status").value_or(""));
  if ((mine["CapEff"] & Bit(CAP_SETPCAP)) == 0 || (mine["CapPrm"] & Bit(CAP_KILL)) == 0) {
    GTEST_SKIP() << "needs CAP_SETPCAP and CAP_KILL";
  }
  CapabilitySets sets;
  sets.bounding = sets.effective = sets.permitted = sets.ambient = Bit(CAP_KILL);
  auto state = BuildCapState(sets);
  ASSERT_TRUE(state.has_value());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(ApplyCapStateInChild(*state));
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), EPERM);
}

}  // namespace
}  // namespace podshim::oci
