// `podshim resources` as a user runs it: the real binary on the example manifests prints the
// effective resources and cgroup v2 values as JSON; a bad manifest exits 2 with the error naming
// the manifest path. Needs no root and no bundles.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fixtures/fakes/temp_dir.h"

namespace podshim {
namespace {

using nlohmann::json;

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `podshim resources ARGS` (ARGS already shell-quoted) and captures stdout and stderr.
Output RunResources(const std::string& args) {
  testing::TempDir tmp;
  Output result;
  if (!tmp.ok()) return result;
  const std::string err_path = (tmp.path() / "stderr").string();
  const std::string cmd =
      std::string("'") + PODSHIM_BINARY + "' resources " + args + " 2>'" + err_path + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n = 0;
  while ((n = ::fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  result.err = ss.str();
  return result;
}

std::string Example(const char* name) {
  return std::string("'") + PODSHIM_SOURCE_DIR + "/examples/" + name + "'";
}

TEST(PodResourcesCommandTest, WebPodExample) {
  Output r = RunResources(Example("web-pod.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["qosClass"], "Burstable");
  EXPECT_EQ(j["requests"], json::parse(R"({"cpuMillis": 250, "memoryBytes": 104857600})"));
  EXPECT_EQ(j["limits"], json::parse(R"({"memoryBytes": 209715200})"));
  // 250m -> 256 shares -> weight 35 (2025 formula); no cpu.max: no container limits cpu.
  EXPECT_EQ(j["pod"]["cgroup"], json::parse(R"({"cpu.weight": "35", "memory.max": "209715200"})"));
  ASSERT_EQ(j["containers"].size(), 3u);
  EXPECT_EQ(j["containers"][0]["name"], "setup");
  EXPECT_EQ(j["containers"][0]["role"], "init");
  EXPECT_EQ(j["containers"][1]["name"], "proxy");
  EXPECT_EQ(j["containers"][1]["role"], "sidecar");
  EXPECT_EQ(j["containers"][1]["cgroup"],
            json::parse(R"({"cpu.weight": "11", "memory.max": "67108864",
                            "memory.oom.group": "1"})"));
  EXPECT_EQ(j["containers"][2]["role"], "app");
}

TEST(PodResourcesCommandTest, SwitchesChangeTheValues) {
  Output r = RunResources(
      "--cpu-weight-formula=linear --memory-qos --pod-pids-limit 64 --single-process-oom-kill " +
      Example("web-pod.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["pod"]["cgroup"], json::parse(R"({"cpu.weight": "10", "memory.max": "209715200",
                                               "memory.low": "104857600", "pids.max": "64"})"));
  EXPECT_EQ(j["containers"][1]["cgroup"],
            json::parse(R"({"cpu.weight": "2", "memory.max": "67108864",
                            "memory.low": "33554432"})"));
}

TEST(PodResourcesCommandTest, BadManifestExitsTwoNamingThePath) {
  testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto manifest = tmp.path() / "bad.yaml";
  std::ofstream(manifest) << "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n"
                             "  containers:\n  - name: a\n    bundle: b\n"
                             "    resources: {limits: {cpu: 1x}}\n";
  Output r = RunResources("'" + manifest.string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("spec.containers[0].resources.limits.cpu: invalid quantity \"1x\""),
            std::string::npos)
      << r.err;
}

TEST(PodResourcesCommandTest, BadSwitchExitsTwo) {
  Output r = RunResources("--cpu-weight-formula=cubic " + Example("web-pod.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--cpu-weight-formula"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace podshim
