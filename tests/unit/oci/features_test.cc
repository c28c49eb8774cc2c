// The OCI features JSON: required versions, the lists compiled in, and the seccomp flag subsets.
#include "oci/features.h"

#include <gtest/gtest.h>
#include <linux/capability.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace podshim::oci {
namespace {

bool Contains(const nlohmann::json& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

TEST(FeaturesTest, HasRequiredVersionsAndEveryHook) {
  auto j = nlohmann::json::parse(FeaturesJson());
  EXPECT_EQ(j["ociVersionMin"], "1.0.0");
  EXPECT_EQ(j["ociVersionMax"], "1.2.0");
  for (const char* hook : {"prestart", "createRuntime", "createContainer", "startContainer",
                           "poststart", "poststop"}) {
    EXPECT_TRUE(Contains(j["hooks"], hook)) << hook;
  }
  EXPECT_TRUE(Contains(j["mountOptions"], "rbind"));
  EXPECT_TRUE(Contains(j["mountOptions"], "nosuid"));
}

TEST(FeaturesTest, LinuxSectionDescribesThisBuild) {
  auto linux_json = nlohmann::json::parse(FeaturesJson())["linux"];
  for (const char* ns : {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}) {
    EXPECT_TRUE(Contains(linux_json["namespaces"], ns)) << ns;
  }
  EXPECT_EQ(linux_json["cgroup"]["v2"], true);
  EXPECT_EQ(linux_json["cgroup"]["v1"], false);
  EXPECT_EQ(linux_json["cgroup"]["systemd"], false);
  EXPECT_EQ(linux_json["apparmor"]["enabled"], false);
  EXPECT_EQ(linux_json["selinux"]["enabled"], false);
  auto seccomp = linux_json["seccomp"];
  EXPECT_EQ(seccomp["enabled"], true);
  EXPECT_TRUE(Contains(seccomp["actions"], "SCMP_ACT_ERRNO"));
  EXPECT_FALSE(Contains(seccomp["actions"], "SCMP_ACT_NOTIFY")) << "no listenerPath support";
  EXPECT_TRUE(Contains(seccomp["operators"], "SCMP_CMP_MASKED_EQ"));
  EXPECT_TRUE(Contains(seccomp["archs"], "SCMP_ARCH_X86_64"));
  EXPECT_TRUE(Contains(seccomp["archs"], "SCMP_ARCH_AARCH64"));
}

TEST(FeaturesTest, CapabilitiesRunFromChownToTheLastCompiledIn) {
  std::vector<std::string> caps = CompiledCapabilityNames();
  ASSERT_FALSE(caps.empty());
  EXPECT_EQ(caps.front(), "CAP_CHOWN");
  EXPECT_EQ(caps.size(), static_cast<size_t>(CAP_LAST_CAP + 1));
  EXPECT_NE(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), caps.end());
  for (const std::string& c : caps) EXPECT_EQ(c.rfind("CAP_", 0), 0u) << c;
}

TEST(FeaturesTest, SupportedFlagsAreASubsetOfKnownFlags) {
  std::vector<std::string> known = SeccompKnownFlags();
  std::vector<std::string> supported = SeccompSupportedFlags();
  EXPECT_EQ(known.size(), 4u);
  for (const std::string& f : supported) {
    EXPECT_NE(std::find(known.begin(), known.end(), f), known.end()) << f;
  }
  auto j = nlohmann::json::parse(FeaturesJson());
  EXPECT_EQ(j["linux"]["seccomp"]["supportedFlags"].size(), supported.size());
}

TEST(FeaturesTest, AnnotatesTheLinkedLibseccompVersion) {
  auto j = nlohmann::json::parse(FeaturesJson());
  std::string version = j["annotations"]["io.github.seccomp.libseccomp.version"];
  EXPECT_EQ(std::count(version.begin(), version.end(), '.'), 2) << version;
}

}  // namespace
}  // namespace podshim::oci
