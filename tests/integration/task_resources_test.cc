// Stats, Update, Pause and Resume through the task service on a real container (OciTaskRuntime):
// cpu usage from the cgroup after a busy loop (cpu and memory always in the reply), Update
// writing what the host's cgroup2 offers (a core file always; pids.max where the root offers
// pids), and cgroup.freeze with State PAUSED, then RUNNING again. Root, cgroup2.
#include "shim/proto/metrics.pb.h"
#include "task_cgroup_fixture.h"

namespace podshim::shim::task {
namespace {

using nlohmann::json;
namespace cg2 = io::containerd::cgroups::v2;

constexpr const char kResourcesUrl[] =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
// Burns some CPU, then idles until killed.
constexpr const char kBusyThenIdle[] =
    "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; while :; do sleep 1; done";

class TaskResourcesIntegration : public TaskCgroupFixture {
 protected:
  cg2::Metrics Stats(const std::string& id) {
    auto reply = Decode<v2::StatsResponse>(IdCall("Stats", id));
    EXPECT_EQ(reply.stats().type_url(), "io.containerd.cgroups.v2.Metrics");
    cg2::Metrics m;
    EXPECT_TRUE(m.ParseFromString(reply.stats().value()));
    EXPECT_TRUE(m.has_cpu() && m.has_memory()) << "containerd drops stats without them";
    return m;
  }
  ttrpc::RpcResult Update(const std::string& id, const std::string& resources) {
    v2::UpdateTaskRequest req;
    req.set_id(id);
    req.mutable_resources()->set_type_url(kResourcesUrl);
    req.mutable_resources()->set_value(resources);
    return Call("Update", req);
  }
};

TEST_F(TaskResourcesIntegration, StatsCountTheCpuTheContainerUsed) {
  WriteBundle("st", kBusyThenIdle, "/k8s.io/st");
  ASSERT_GT(Create("st"), 0);
  // Only its set-up ran so far (a millisecond or so): it waits at its start gate.
  const uint64_t created = Stats("st").cpu().usage_usec();
  EXPECT_LT(created, 50'000u);
  ASSERT_TRUE(IdCall("Start", "st"));
  uint64_t usage = 0;
  EXPECT_TRUE(Eventually([&] {
    usage = Stats("st").cpu().usage_usec();
    return usage > created + 50'000;
  })) << "usage_usec "
      << usage;
  const cg2::Metrics m = Stats("st");
  EXPECT_GE(m.cpu().user_usec() + m.cpu().system_usec(), m.cpu().usage_usec() * 9 / 10);
  if (RootOffers("memory")) {
    EXPECT_GT(m.memory().usage(), 0u);
  }
  if (RootOffers("pids")) {
    EXPECT_GE(m.pids().current(), 1u);
  }
  KillAndDelete("st");
  EXPECT_FALSE(fs::exists(Cgroup("/k8s.io/st")));
}

TEST_F(TaskResourcesIntegration, PauseFreezesTheCgroupAndResumeThawsIt) {
  WriteBundle("pz", "while :; do sleep 0.05; done", "/k8s.io/pz");
  ASSERT_GT(Create("pz"), 0);
  ASSERT_TRUE(IdCall("Start", "pz"));
  const fs::path cg = Cgroup("/k8s.io/pz");
  ASSERT_TRUE(IdCall("Pause", "pz"));
  EXPECT_EQ(ReadText(cg / "cgroup.freeze"), "1\n");
  EXPECT_NE(ReadText(cg / "cgroup.events").find("frozen 1"), std::string::npos);
  EXPECT_EQ(StateOf("pz"), v2::PAUSED);
  const uint64_t frozen_usage = Stats("pz").cpu().usage_usec();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Stats("pz").cpu().usage_usec(), frozen_usage) << "it ran while paused";
  auto again = IdCall("Pause", "pz");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ttrpc::Code::kFailedPrecondition);

  ASSERT_TRUE(IdCall("Resume", "pz"));
  EXPECT_EQ(ReadText(cg / "cgroup.freeze"), "0\n");
  EXPECT_EQ(StateOf("pz"), v2::RUNNING);
  EXPECT_TRUE(Eventually([&] { return Stats("pz").cpu().usage_usec() > frozen_usage; }));
  EXPECT_EQ(topics_, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/paused",
                                               "/tasks/resumed"}));
  // A paused task can still be killed (SIGKILL reaches frozen processes) and deleted.
  ASSERT_TRUE(IdCall("Pause", "pz"));
  KillAndDelete("pz");
  EXPECT_FALSE(fs::exists(cg));
}

TEST_F(TaskResourcesIntegration, UpdateWritesWhatTheHostOffers) {
  WriteBundle("up", "while :; do sleep 1; done", "/k8s.io/up");
  ASSERT_GT(Create("up"), 0);
  ASSERT_TRUE(IdCall("Start", "up"));
  const fs::path cg = Cgroup("/k8s.io/up");
  // The CRI plugin's payload (observed) plus a core file any cgroup has, and a pids limit.
  auto r = Update("up", R"({"devices":[{"allow":false,"access":"rwm"}],)"
                        R"("memory":{"limit":67108864,"swap":67108864},)"
                        R"("cpu":{"shares":256,"quota":50000,"period":100000},)"
                        R"("pids":{"limit":50},"unified":{"cgroup.max.descendants":"3"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(ReadText(cg / "cgroup.max.descendants"), "3\n");
  if (RootOffers("pids")) {
    EXPECT_EQ(ReadText(cg / "pids.max"), "50\n");
  }
  if (RootOffers("memory")) {
    EXPECT_EQ(ReadText(cg / "memory.max"), "67108864\n");
  }
  if (RootOffers("cpu")) {
    EXPECT_EQ(ReadText(cg / "cpu.max"), "50000 100000\n");
  }
  // A second update keeps what it does not name (runc's merge).
  ASSERT_TRUE(Update("up", R"({"unified":{"cgroup.max.depth":"2"}})"));
  EXPECT_EQ(ReadText(cg / "cgroup.max.depth"), "2\n");
  EXPECT_EQ(ReadText(cg / "cgroup.max.descendants"), "3\n");

  r = Update("up", R"({"memory":{"limit":"lots"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ttrpc::Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find("resources.memory.limit"), std::string::npos)
      << r.error().message;
  r = Update("up", "not json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ttrpc::Code::kInvalidArgument) << r.error().message;
  KillAndDelete("up");
  EXPECT_FALSE(fs::exists(cg));
}

}  // namespace
}  // namespace podshim::shim::task
