// linux.cgroupsPath and linux.resources as the kubelet asks, through the task service's Create
// on the real runtime: the CRI plugin's /k8s.io/<id> and the kubelet's
// /kubepods/<qos>/pod<uid>/<id> land at that path under the cgroup2 mount (below the test's own
// parent), resources are written where the host offers the controller, the systemd driver's
// "slice:prefix:name" is refused naming the field, and Delete removes what Create made but not a
// pod cgroup another container still uses, nor a parent podshim did not make. Root, cgroup2.
#include "task_cgroup_fixture.h"

namespace podshim::shim::task {
namespace {

using nlohmann::json;

constexpr const char kIdle[] = "while :; do sleep 1; done";
constexpr const char kPodUid[] = "0e5f3c9a-59b0-4a1b-9d6e-2f7c1a8b4d21";

std::string CgroupOf(pid_t pid) { return ReadText("/proc/" + std::to_string(pid) + "/cgroup"); }

class TaskCgroupPaths : public TaskCgroupFixture {};

TEST_F(TaskCgroupPaths, EachKubeletFormLandsAtItsPathAndGoesAtDelete) {
  const std::string pod = std::string("/pod") + kPodUid;
  for (const std::string& path : {std::string("/k8s.io/c1"), "/kubepods/besteffort" + pod + "/c1",
                                  "/kubepods/burstable" + pod + "/c1", "/kubepods" + pod + "/c1"}) {
    SCOPED_TRACE(path);
    WriteBundle("c1", kIdle, path);
    const pid_t pid = Create("c1");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(fs::is_directory(Cgroup(path)));
    EXPECT_EQ(ReadText(Cgroup(path) / "cgroup.procs"), std::to_string(pid) + "\n");
    EXPECT_NE(CgroupOf(pid).find("0::/" + parent_ + path + "\n"), std::string::npos)
        << CgroupOf(pid);
    ASSERT_TRUE(IdCall("Start", "c1"));
    KillAndDelete("c1");
    EXPECT_FALSE(fs::exists(Cgroup(path)));
    EXPECT_FALSE(fs::exists(Cgroup("/" + path.substr(1, path.find('/', 1) - 1))))
        << "the parents podshim made go with the last container";
    EXPECT_TRUE(fs::is_directory(mount_ / parent_)) << "a parent podshim did not make stays";
  }
}

TEST_F(TaskCgroupPaths, TwoContainersOfAPodShareThePodCgroupUntilTheLastGoes) {
  const std::string pod = std::string("/kubepods/burstable/pod") + kPodUid;
  WriteBundle("sandbox", kIdle, pod + "/sandbox");
  WriteBundle("app", kIdle, pod + "/app");
  ASSERT_GT(Create("sandbox"), 0);
  ASSERT_TRUE(IdCall("Start", "sandbox"));
  ASSERT_GT(Create("app"), 0);
  ASSERT_TRUE(IdCall("Start", "app"));
  KillAndDelete("sandbox");
  EXPECT_FALSE(fs::exists(Cgroup(pod + "/sandbox")));
  EXPECT_TRUE(fs::is_directory(Cgroup(pod + "/app")));
  EXPECT_EQ(StateOf("app"), v2::RUNNING);
  // The pod cgroup is still shared: another container of the pod can join it.
  WriteBundle("init", "exit 0", pod + "/init");
  ASSERT_GT(Create("init"), 0);
  Delete("init");
  EXPECT_TRUE(fs::is_directory(Cgroup(pod)));
  KillAndDelete("app");
  EXPECT_FALSE(fs::exists(Cgroup("/kubepods"))) << "the last container takes the parents along";
}

// Pre-existing parents (the kubelet makes /kubepods/... itself on a node) are joined, never
// removed.
TEST_F(TaskCgroupPaths, ParentsSomeoneElseMadeStay) {
  const std::string pod = std::string("/kubepods/besteffort/pod") + kPodUid;
  ASSERT_TRUE(fs::create_directories(Cgroup(pod)));
  WriteBundle("c1", kIdle, pod + "/c1");
  ASSERT_GT(Create("c1"), 0);
  Delete("c1");  // created, never started: Delete kills it
  EXPECT_FALSE(fs::exists(Cgroup(pod + "/c1")));
  EXPECT_TRUE(fs::is_directory(Cgroup(pod)));
  for (const std::string& p :
       {pod, std::string("/kubepods/besteffort"), std::string("/kubepods")}) {
    EXPECT_EQ(::rmdir(Cgroup(p).c_str()), 0) << p;
  }
}

// What the kubelet asks for a burstable container, through the CRI plugin: written where the
// host's cgroup2 has the controller, skipped (with podshim's warning) where it has not.
TEST_F(TaskCgroupPaths, ResourcesAreWrittenWhereTheHostOffersThem) {
  const json resources = {
      {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}}},
      {"memory", {{"limit", 134217728}, {"swap", 134217728}}},
      {"pids", {{"limit", 64}}},
      {"unified", {{"cgroup.max.descendants", "9"}}},
      {"devices", {{{"allow", false}, {"access", "rwm"}}}},
  };
  const std::string path = std::string("/kubepods/burstable/pod") + kPodUid + "/r1";
  WriteBundle("r1", kIdle, path, resources);
  ASSERT_GT(Create("r1"), 0);
  const fs::path cg = Cgroup(path);
  EXPECT_EQ(ReadText(cg / "cgroup.max.descendants"), "9\n");
  if (RootOffers("memory")) {
    EXPECT_EQ(ReadText(cg / "memory.max"), "134217728\n");
  }
  if (RootOffers("cpu")) {
    EXPECT_EQ(ReadText(cg / "cpu.max"), "50000 100000\n");
  }
  if (RootOffers("pids")) {
    EXPECT_EQ(ReadText(cg / "pids.max"), "64\n");
  }
  ASSERT_TRUE(IdCall("Start", "r1"));
  KillAndDelete("r1");
  EXPECT_FALSE(fs::exists(Cgroup("/kubepods")));
}

TEST_F(TaskCgroupPaths, TheSystemdDriversFormIsRefusedNamingTheField) {
  WriteBundle("sd", kIdle, "kubepods-besteffort.slice:cri-containerd:sd");
  ttrpc::RpcError error;
  EXPECT_EQ(Create("sd", &error), 0);
  EXPECT_EQ(error.code, ttrpc::Code::kInvalidArgument) << error.message;
  EXPECT_NE(error.message.find("linux.cgroupsPath"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("cgroupfs"), std::string::npos) << error.message;
  EXPECT_FALSE(fs::exists(mount_ / "kubepods.slice"));
  EXPECT_FALSE(fs::exists(tmp_ / "sd" / ".podshim/oci/sd"));
  EXPECT_EQ(ReadText("/proc/self/mountinfo").find((tmp_ / "sd" / "rootfs").string()),
            std::string::npos);
  EXPECT_FALSE(service_.HasTasks());
}

}  // namespace
}  // namespace podshim::shim::task
