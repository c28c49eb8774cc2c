#include "shim/run/pod_sandbox.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace podshim::shim {
namespace {

using oci::NamespaceType;

oci::Spec BundleSpec() {
  oci::Spec s;
  s.hostname = "bundle-host";
  oci::Process p;
  p.args = {"/bin/server", "--default"};
  p.env = {"PATH=/bin", "MODE=dev"};
  p.cwd = "/";
  s.process = p;
  s.linux_config.namespaces = {{NamespaceType::kPid, std::nullopt},
                               {NamespaceType::kNetwork, std::nullopt},
                               {NamespaceType::kIpc, std::nullopt},
                               {NamespaceType::kUts, std::nullopt}};
  return s;
}

SandboxPaths PodPaths() {
  SandboxPaths p;
  p.namespaces = {{NamespaceType::kNetwork, "/proc/self/fd/7"},
                  {NamespaceType::kIpc, "/proc/self/fd/8"},
                  {NamespaceType::kUts, "/proc/self/fd/9"}};
  p.volumes = {{"shared", "/run/podshim/web/volumes/shared"}, {"host", "/srv/data"}};
  return p;
}

std::optional<std::optional<std::string>> NsPath(const oci::Spec& s, NamespaceType t) {
  for (const auto& n : s.linux_config.namespaces) {
    if (n.type == t) return n.path;
  }
  return std::nullopt;
}

TEST(ApplyPodToSpec, JoinsThePodNamespacesAndKeepsItsOwnPidAndMount) {
  Container c;
  c.name = "web";
  oci::Spec s = BundleSpec();
  ASSERT_TRUE(ApplyPodToSpec(c, PodPaths(), s));
  EXPECT_EQ(NsPath(s, NamespaceType::kNetwork), std::optional<std::string>("/proc/self/fd/7"));
  EXPECT_EQ(NsPath(s, NamespaceType::kIpc), std::optional<std::string>("/proc/self/fd/8"));
  EXPECT_EQ(NsPath(s, NamespaceType::kUts), std::optional<std::string>("/proc/self/fd/9"));
  ASSERT_TRUE(NsPath(s, NamespaceType::kPid).has_value());
  EXPECT_FALSE(NsPath(s, NamespaceType::kPid)->has_value());  // a new one
  ASSERT_TRUE(NsPath(s, NamespaceType::kMount).has_value());  // added
  EXPECT_FALSE(NsPath(s, NamespaceType::kMount)->has_value());
  EXPECT_EQ(s.linux_config.namespaces.size(), 5u);
  EXPECT_FALSE(s.hostname);  // the pod's UTS namespace has the pod name already
  EXPECT_EQ(s.process->args, (std::vector<std::string>{"/bin/server", "--default"}));
}

TEST(ApplyPodToSpec, HostNetworkRemovesTheNetworkAndUtsNamespaces) {
  Container c;
  c.name = "web";
  SandboxPaths p;
  p.namespaces = {{NamespaceType::kIpc, "/proc/self/fd/8"}};
  p.host_namespaces = {NamespaceType::kNetwork, NamespaceType::kUts};
  oci::Spec s = BundleSpec();
  ASSERT_TRUE(ApplyPodToSpec(c, p, s));
  EXPECT_FALSE(NsPath(s, NamespaceType::kNetwork));
  EXPECT_FALSE(NsPath(s, NamespaceType::kUts));
  EXPECT_EQ(NsPath(s, NamespaceType::kIpc), std::optional<std::string>("/proc/self/fd/8"));
}

TEST(ApplyPodToSpec, VolumeMountsBecomeBindMountsHonouringReadOnly) {
  Container c;
  c.name = "web";
  c.volume_mounts = {{"shared", "/data", false}, {"host", "/srv", true}};
  oci::Spec s = BundleSpec();
  ASSERT_TRUE(ApplyPodToSpec(c, PodPaths(), s));
  ASSERT_EQ(s.mounts.size(), 2u);
  EXPECT_EQ(s.mounts[0].destination, "/data");
  EXPECT_EQ(s.mounts[0].source, "/run/podshim/web/volumes/shared");
  EXPECT_EQ(s.mounts[0].type, "bind");
  EXPECT_NE(std::find(s.mounts[0].options.begin(), s.mounts[0].options.end(), "rw"),
            s.mounts[0].options.end());
  EXPECT_EQ(s.mounts[1].source, "/srv/data");
  EXPECT_NE(std::find(s.mounts[1].options.begin(), s.mounts[1].options.end(), "ro"),
            s.mounts[1].options.end());
}

TEST(ApplyPodToSpec, UnknownVolumeIsAnErrorNamingTheMount) {
  Container c;
  c.name = "web";
  c.volume_mounts = {{"shared", "/data", false}, {"nope", "/x", false}};
  oci::Spec s = BundleSpec();
  auto st = ApplyPodToSpec(c, PodPaths(), s);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().ToString(),
            "container \"web\": volumeMounts[1].name: no volume named \"nope\"");
}

TEST(ApplyPodToSpec, CommandArgsEnvAndWorkingDirOverrideTheBundle) {
  Container c;
  c.name = "web";
  c.command = std::vector<std::string>{"/bin/sh", "-c"};
  c.args = std::vector<std::string>{"echo hi"};
  c.env = {{"MODE", "prod"}, {"EXTRA", "1"}};
  c.working_dir = "/work";
  oci::Spec s = BundleSpec();
  ASSERT_TRUE(ApplyPodToSpec(c, PodPaths(), s));
  EXPECT_EQ(s.process->args, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(s.process->env, (std::vector<std::string>{"PATH=/bin", "MODE=prod", "EXTRA=1"}));
  EXPECT_EQ(s.process->cwd, "/work");

  Container only_args;
  only_args.name = "web";
  only_args.args = std::vector<std::string>{"--flag"};
  oci::Spec s2 = BundleSpec();
  ASSERT_TRUE(ApplyPodToSpec(only_args, PodPaths(), s2));
  EXPECT_EQ(s2.process->args, (std::vector<std::string>{"/bin/server", "--flag"}));
}

}  // namespace
}  // namespace podshim::shim
