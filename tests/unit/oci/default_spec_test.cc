// DefaultSpecJson: the generated config.json parses with ParseSpec and has runc's defaults.
#include "oci/default_spec.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

#include "oci/spec_parse.h"

namespace podshim::oci {
namespace {

TEST(DefaultSpecTest, ParsesWithTheGivenArgs) {
  auto spec = ParseSpec(DefaultSpecJson({"/bin/echo", "hello world"}));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  ASSERT_TRUE(spec->process.has_value());
  EXPECT_EQ(spec->process->args, (std::vector<std::string>{"/bin/echo", "hello world"}));
}

TEST(DefaultSpecTest, EmptyArgsMeanSh) {
  auto spec = ParseSpec(DefaultSpecJson({}));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
}

TEST(DefaultSpecTest, HasRuncDefaults) {
  auto spec = ParseSpec(DefaultSpecJson({}));
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_TRUE(spec->root.readonly);

  const Process& p = *spec->process;
  EXPECT_FALSE(p.terminal);
  EXPECT_EQ(p.cwd, "/");
  EXPECT_EQ(p.user.uid, 0u);
  ASSERT_EQ(p.env.size(), 2u);
  EXPECT_TRUE(p.env[0].starts_with("PATH=/usr/local/sbin:"));
  EXPECT_EQ(p.env[1], "TERM=xterm");
  EXPECT_TRUE(p.no_new_privileges);
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);

  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, caps);
  EXPECT_EQ(p.capabilities->effective, caps);
  EXPECT_EQ(p.capabilities->permitted, caps);
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_TRUE(p.capabilities->ambient.empty());

  std::vector<std::string> destinations;
  for (const Mount& m : spec->mounts) destinations.push_back(m.destination);
  EXPECT_EQ(destinations, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                                    "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
  EXPECT_EQ(spec->mounts[1].type, "tmpfs");

  std::vector<NamespaceType> namespaces;
  for (const Namespace& ns : spec->linux_config.namespaces) {
    EXPECT_FALSE(ns.path.has_value());
    namespaces.push_back(ns.type);
  }
  EXPECT_EQ(namespaces, (std::vector<NamespaceType>{
                            NamespaceType::kPid, NamespaceType::kNetwork, NamespaceType::kIpc,
                            NamespaceType::kUts, NamespaceType::kMount, NamespaceType::kCgroup}));
  const auto& masked = spec->linux_config.masked_paths;
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/proc/kcore"), masked.end());
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/sys/firmware"), masked.end());
  const auto& readonly = spec->linux_config.readonly_paths;
  EXPECT_NE(std::find(readonly.begin(), readonly.end(), "/proc/sys"), readonly.end());
  EXPECT_NE(std::find(readonly.begin(), readonly.end(), "/proc/sysrq-trigger"), readonly.end());
  EXPECT_FALSE(spec->linux_config.seccomp.has_value());
}

}  // namespace
}  // namespace podshim::oci
