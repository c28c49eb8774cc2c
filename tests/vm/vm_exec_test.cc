// Exec probes and `ctl exec` in the VM, where the container leaves have the cpu, memory and pids
// controllers: an exec runs in its own cgroup below the container's leaf (allowed because the
// leaf enables no controllers below itself), sees the container's cgroup namespace, counts
// against the leaf's pids.max, and its cgroup is gone once it ended, also after a timeout.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

constexpr const char* kParent = "vmtest-exec";

// `podshim ctl --socket SOCK ARGS...`: its exit status and stdout.
int Ctl(const PodDir& pod, const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> argv = {Binary(), "ctl", "--socket",
                                   (pod.state() / "podshim.sock").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  fs::path o = pod.dir() / "ctl.out", e = pod.dir() / "ctl.err";
  int status = WaitFor(Spawn(argv, o, e), 60s);
  *out = ReadText(o) + ReadText(e);
  return status;
}

std::vector<std::string> ExecGroups(const fs::path& leaf) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(leaf, ec)) {
    if (entry.is_directory()) out.push_back(entry.path().filename());
  }
  return out;
}

TEST(VmExecTest, ExecProbesAndCtlExecRunInTheirOwnCgroupBelowTheLeaf) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (ReadText(fs::path(kCgroupRoot) / "cgroup.controllers").find("pids") == std::string::npos) {
    GTEST_SKIP() << "no cgroup2 pids controller (run in the VM: scripts/vm-test.sh)";
  }
  VmBundle bundle;
  ASSERT_TRUE(bundle.error().empty()) << bundle.error();
  PodDir pod("exec", kParent);
  ASSERT_TRUE(pod.ok());
  json app = {{"name", "app"},
              {"command", json::array({"/test_proc", "sleep", "60000"})},
              {"resources", {{"limits", {{"memory", "64Mi"}, {"cpu", "500m"}}}}},
              {"readinessProbe",
               {{"exec", {{"command", json::array({"/bin/cat", "/proc/self/cgroup"})}}},
                {"periodSeconds", 1}}}};
  pod.WriteManifest(PodManifest("exec", bundle.dir(), json::array(), json::array({app})));
  pod.Start();
  ASSERT_TRUE(pod.WaitForEvent("ContainerReady", "app", 60s)) << pod.stderr_text();
  EXPECT_TRUE(EventsOf(pod.events(), "ProbeFailed", "app").empty()) << pod.stderr_text();

  std::string out;
  ASSERT_EQ(Ctl(pod, {"exec", "app", "--", "/bin/cat", "/proc/self/cgroup"}, &out), 0) << out;
  // The container's cgroup namespace is rooted at its leaf: the exec sees only /exec-N.
  EXPECT_EQ(out.rfind("0::/exec-", 0), 0u) << out;

  // A hanging exec is killed at its timeout with everything it started.
  ASSERT_NE(Ctl(pod,
                {"exec", "app", "--timeout", "1", "--", "/bin/sh", "-c",
                 "/test_proc sleep 100000 & /test_proc sleep 100000"},
                &out),
            0)
      << out;
  const fs::path leaf = pod.leaf("app");
  EXPECT_TRUE(Eventually([&] { return ExecGroups(leaf).empty(); }, 10s))
      << "exec cgroups left below " << leaf;
  EXPECT_EQ(PidsInTree(leaf).size(), 1u) << "only the container's own process is left";

  pod.Signal(SIGTERM);
  PodRunResult r = pod.Wait(60s);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  EXPECT_FALSE(fs::exists(pod.pod_cgroup()));
}

}  // namespace
}  // namespace podshim::vmtest
