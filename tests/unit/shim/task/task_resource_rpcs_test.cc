// TaskService: Stats, Update, Pause and Resume over the fake runtime: what reaches the runtime,
// the Metrics payload, the paused/resumed events, State's PAUSED, and the errors (bad input,
// unknown task, wrong state, no cgroup).
#include <fstream>

#include "fake_task_runtime.h"
#include "fixtures/fakes/temp_dir.h"
#include "shim/proto/metrics.pb.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;
namespace cg2 = io::containerd::cgroups::v2;

constexpr const char kResourcesUrl[] =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
// What the CRI plugin sent for UpdateContainerResources (observed).
constexpr const char kCriResources[] =
    R"({"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":67108864,"swap":67108864},)"
    R"("cpu":{"shares":256,"quota":50000,"period":100000}})";

class TaskResourceTest : public TaskServiceHarness {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cgroup_.ok());
    runtime_.cgroup_dir = cgroup_.path();
  }
  // c1, started.
  void Running() {
    CreateTask("c1");
    ASSERT_TRUE(StartTask("c1"));
  }
  ttrpc::RpcResult CallWithId(const std::string& method, const std::string& id = "c1") {
    v2::PauseRequest req;  // Stats, Pause and Resume requests are all {id 1}
    req.set_id(id);
    return Call(method, req.SerializeAsString());
  }
  v2::UpdateTaskRequest UpdateRequest(const std::string& json, const std::string& url) {
    v2::UpdateTaskRequest req;
    req.set_id("c1");
    req.mutable_resources()->set_type_url(url);
    req.mutable_resources()->set_value(json);
    (*req.mutable_annotations())["io.kubernetes.cri.container-type"] = "container";
    return req;
  }
  v2::Status StateOf(const std::string& id) {
    v2::StateRequest req;
    req.set_id(id);
    return Decode<v2::StateResponse>(Call("State", req)).status();
  }
  testing::TempDir cgroup_;
};

TEST_F(TaskResourceTest, StatsAnswersTheCgroupsMetricsWithoutATypePrefix) {
  Running();
  std::ofstream(cgroup_.path() / "cpu.stat") << "usage_usec 777\nuser_usec 700\nsystem_usec 77\n";
  std::ofstream(cgroup_.path() / "memory.current") << "5000\n";
  auto reply = Decode<v2::StatsResponse>(CallWithId("Stats"));
  EXPECT_EQ(reply.stats().type_url(), "io.containerd.cgroups.v2.Metrics");
  cg2::Metrics m;
  ASSERT_TRUE(m.ParseFromString(reply.stats().value()));
  ASSERT_TRUE(m.has_cpu() && m.has_memory());
  EXPECT_EQ(m.cpu().usage_usec(), 777u);
  EXPECT_EQ(m.memory().usage(), 5000u);
  EXPECT_EQ(runtime_.calls.back(), "cgroup-dir c1");
}

TEST_F(TaskResourceTest, StatsWithoutACgroupOrAfterTheExitStillAnswers) {
  Running();
  service_.OnExit(Exited(0));
  auto reply = Decode<v2::StatsResponse>(CallWithId("Stats"));
  cg2::Metrics m;
  ASSERT_TRUE(m.ParseFromString(reply.stats().value()));
  EXPECT_TRUE(m.has_cpu() && m.has_memory());
  runtime_.cgroup_dir.clear();
  reply = Decode<v2::StatsResponse>(CallWithId("Stats"));
  ASSERT_TRUE(m.ParseFromString(reply.stats().value()));
  EXPECT_TRUE(m.has_cpu() && m.has_memory());
  EXPECT_EQ(m.cpu().usage_usec(), 0u);
}

TEST_F(TaskResourceTest, StatsErrors) {
  Running();
  EXPECT_EQ(CallWithId("Stats", "nope").error().code, Code::kNotFound);
  EXPECT_EQ(Call("Stats", std::string("\xff\xff", 2)).error().code, Code::kInvalidArgument);
  std::ofstream(cgroup_.path() / "pids.current") << "many\n";
  auto r = CallWithId("Stats");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pids.current"), std::string::npos) << r.error().message;
}

TEST_F(TaskResourceTest, UpdatePassesTheJsonToTheRuntime) {
  Running();
  ASSERT_TRUE(Call("Update", UpdateRequest(kCriResources, kResourcesUrl)));
  EXPECT_EQ(runtime_.calls.back(), std::string("update c1 resources ") + kCriResources);
  EXPECT_TRUE(events_.size() == 2) << "Update publishes nothing";
}

TEST_F(TaskResourceTest, UpdateRefusesBadInputNamingTheField) {
  Running();
  v2::UpdateTaskRequest none;
  none.set_id("c1");
  auto r = Call("Update", none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find("resources"), std::string::npos) << r.error().message;
  r = Call("Update", UpdateRequest("{}",
                                   "types.containerd.io/opencontainers/runtime-spec/1/"
                                   "WindowsResources"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find("resources.type_url"), std::string::npos) << r.error().message;
  // The runtime's verdict on the JSON itself.
  runtime_.fail_update = Error::Invalid("resources.memory.limit: expected an integer");
  r = Call("Update", UpdateRequest(R"({"memory":{"limit":"lots"}})", kResourcesUrl));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find("Update: resources.memory.limit"), std::string::npos)
      << r.error().message;
}

TEST_F(TaskResourceTest, UpdateNeedsALiveTaskWithACgroup) {
  auto r = Call("Update", UpdateRequest("{}", kResourcesUrl));
  EXPECT_EQ(r.error().code, Code::kNotFound);
  CreateTask("c1");
  EXPECT_TRUE(Call("Update", UpdateRequest("{}", kResourcesUrl))) << "a created task: as runc";
  runtime_.cgroup_dir.clear();
  r = Call("Update", UpdateRequest("{}", kResourcesUrl));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("has no cgroup"), std::string::npos) << r.error().message;
  runtime_.cgroup_dir = cgroup_.path();
  ASSERT_TRUE(StartTask("c1"));
  service_.OnExit(Exited(0));
  r = Call("Update", UpdateRequest("{}", kResourcesUrl));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("has stopped"), std::string::npos) << r.error().message;
}

TEST_F(TaskResourceTest, PauseAndResumeFreezeReportAndPublish) {
  Running();
  ASSERT_TRUE(CallWithId("Pause"));
  EXPECT_EQ(runtime_.calls.back(), "pause c1");
  EXPECT_EQ(StateOf("c1"), v2::PAUSED);
  ASSERT_TRUE(CallWithId("Resume"));
  EXPECT_EQ(runtime_.calls.back(), "resume c1");
  EXPECT_EQ(StateOf("c1"), v2::RUNNING);
  EXPECT_EQ(Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/paused",
                                                "/tasks/resumed"}));
  EXPECT_EQ(events_[2].type_url, "containerd.events.TaskPaused");
  EXPECT_EQ(events_[3].type_url, "containerd.events.TaskResumed");
  events::TaskPaused paused;
  ASSERT_TRUE(paused.ParseFromString(events_[2].bytes));
  EXPECT_EQ(paused.container_id(), "c1");
  events::TaskResumed resumed;
  ASSERT_TRUE(resumed.ParseFromString(events_[3].bytes));
  EXPECT_EQ(resumed.container_id(), "c1");
}

TEST_F(TaskResourceTest, PauseAndResumeInTheWrongStateAreFailedPrecondition) {
  EXPECT_EQ(CallWithId("Pause").error().code, Code::kNotFound);
  EXPECT_EQ(CallWithId("Resume").error().code, Code::kNotFound);
  CreateTask("c1");
  auto r = CallWithId("Pause");
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("has not started"), std::string::npos) << r.error().message;
  ASSERT_TRUE(StartTask("c1"));
  r = CallWithId("Resume");
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("is not paused"), std::string::npos) << r.error().message;
  ASSERT_TRUE(CallWithId("Pause"));
  r = CallWithId("Pause");
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("already paused"), std::string::npos) << r.error().message;
  // Killed while frozen (SIGKILL reaches frozen processes): stopped wins over paused.
  service_.OnExit(Killed(9));
  EXPECT_EQ(StateOf("c1"), v2::STOPPED);
  EXPECT_EQ(CallWithId("Resume").error().code, Code::kFailedPrecondition);
  EXPECT_EQ(CallWithId("Pause").error().code, Code::kFailedPrecondition);
}

TEST_F(TaskResourceTest, PauseWithoutACgroupOrARuntimeErrorChangesNothing) {
  Running();
  runtime_.cgroup_dir.clear();
  auto r = CallWithId("Pause");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("has no cgroup"), std::string::npos) << r.error().message;
  runtime_.cgroup_dir = cgroup_.path();
  runtime_.fail_pause = Error::Domain(ErrorCode::kTimeout, "freeze: cgroup.events never said 1");
  r = CallWithId("Pause");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(StateOf("c1"), v2::RUNNING);
  EXPECT_EQ(events_.size(), 2u) << "no /tasks/paused for a failed Pause";
}

}  // namespace
}  // namespace podshim::shim::task
