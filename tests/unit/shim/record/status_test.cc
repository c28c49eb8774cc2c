#include "shim/record/status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kT0 = system_clock::time_point(seconds(0));

PodSnapshot Sample() {
  PodSnapshot pod;
  pod.pod_name = "web";
  pod.phase = PodPhase::kRunning;
  pod.initialized = true;
  pod.ready = false;

  ContainerSnapshot init;
  init.name = "setup";
  init.role = Role::kInit;
  init.state.kind = StateSnapshot::Kind::kTerminated;
  init.state.reason = "Completed";
  init.state.exit_code = 0;
  init.state.started_at = kT0;
  init.state.finished_at = kT0 + seconds(1);
  init.ready = true;

  ContainerSnapshot proxy;
  proxy.name = "proxy";
  proxy.role = Role::kSidecar;
  proxy.state.kind = StateSnapshot::Kind::kRunning;
  proxy.state.started_at = kT0 + seconds(2);
  proxy.started = true;
  proxy.ready = true;
  proxy.pid = 1234;
  proxy.restart_count = 1;
  StateSnapshot last;
  last.kind = StateSnapshot::Kind::kTerminated;
  last.reason = "Error";
  last.exit_code = 137;
  last.signal = 9;
  last.started_at = kT0 + seconds(1);
  last.finished_at = kT0 + seconds(2);
  proxy.last_state = last;

  ContainerSnapshot app;
  app.name = "app";
  app.role = Role::kApp;
  app.state.kind = StateSnapshot::Kind::kWaiting;
  app.state.reason = "CrashLoopBackOff";

  pod.containers = {init, proxy, app};
  return pod;
}

TEST(PodStatusJson, ShapedLikeTheKubernetesPodStatus) {
  auto j = nlohmann::json::parse(PodStatusJson(Sample(), {"Burstable", "/cg/pod-web"}));
  EXPECT_EQ(j["phase"], "Running");
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["qosClass"], "Burstable");
  EXPECT_EQ(j["cgroup"], "/cg/pod-web");
  ASSERT_EQ(j["initContainerStatuses"].size(), 2u);
  ASSERT_EQ(j["containerStatuses"].size(), 1u);

  const auto& setup = j["initContainerStatuses"][0];
  EXPECT_EQ(setup["name"], "setup");
  EXPECT_EQ(setup["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(setup["state"]["terminated"]["exitCode"], 0);
  EXPECT_EQ(setup["state"]["terminated"]["startedAt"], "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(setup["state"]["terminated"]["finishedAt"], "1970-01-01T00:00:01.000000000Z");
  EXPECT_EQ(setup["lastState"], nlohmann::json::object());
  EXPECT_TRUE(setup["pid"].is_null());

  const auto& proxy = j["initContainerStatuses"][1];
  EXPECT_EQ(proxy["state"]["running"]["startedAt"], "1970-01-01T00:00:02.000000000Z");
  EXPECT_EQ(proxy["lastState"]["terminated"]["exitCode"], 137);
  EXPECT_EQ(proxy["lastState"]["terminated"]["signal"], 9);
  EXPECT_EQ(proxy["restartCount"], 1);
  EXPECT_EQ(proxy["started"], true);
  EXPECT_EQ(proxy["ready"], true);
  EXPECT_EQ(proxy["pid"], 1234);

  const auto& app = j["containerStatuses"][0];
  EXPECT_EQ(app["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(app["started"], false);
}

TEST(WritePodStatus, ReplacesTheFileWhole) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "status.json";
  PodSnapshot pod = Sample();
  ASSERT_TRUE(WritePodStatus(path, pod, {"BestEffort", ""}));
  pod.phase = PodPhase::kSucceeded;
  ASSERT_TRUE(WritePodStatus(path, pod, {"BestEffort", ""}));
  auto text = sys::ReadFile(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(nlohmann::json::parse(*text)["phase"], "Succeeded");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "status.json.tmp"));
}

// A full disk (the temporary file is /dev/full): the write fails, the old status.json stays and no
// temporary file is left beside it.
TEST(WritePodStatus, FailedWriteLeavesNoTemporaryFile) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "status.json";
  ASSERT_TRUE(sys::WriteFile(path, "old\n"));
  std::filesystem::create_symlink("/dev/full", dir.path() / "status.json.tmp");
  Status st = WritePodStatus(path, Sample(), {"BestEffort", ""});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), std::errc::no_space_on_device) << st.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path.string() + ".tmp")));
  EXPECT_EQ(sys::ReadFile(path).value_or(""), "old\n");
}

}  // namespace
}  // namespace podshim::shim
