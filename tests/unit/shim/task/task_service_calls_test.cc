// TaskService: State, Pids, Kill, Connect, Shutdown; unknown ids, bad payloads, Unimplemented.
#include <signal.h>

#include "fake_task_runtime.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;

TEST_F(TaskServiceHarness, StateFollowsTheTask) {
  v2::CreateTaskRequest create;
  create.set_id("c1");
  create.set_bundle("/run/b/c1");
  create.set_stdin("/fifo/in");
  create.set_stdout("/fifo/out");
  ASSERT_TRUE(Call("Create", create));
  v2::StateRequest req;
  req.set_id("c1");
  auto s = Decode<v2::StateResponse>(Call("State", req));
  EXPECT_EQ(s.id(), "c1");
  EXPECT_EQ(s.bundle(), "/run/b/c1");
  EXPECT_EQ(s.pid(), 100u);
  EXPECT_EQ(s.status(), v2::CREATED);
  EXPECT_EQ(s.stdin(), "/fifo/in");
  EXPECT_EQ(s.stdout(), "/fifo/out");
  EXPECT_FALSE(s.has_exited_at());
  ASSERT_TRUE(StartTask("c1"));
  EXPECT_EQ(Decode<v2::StateResponse>(Call("State", req)).status(), v2::RUNNING);
  service_.OnExit(Exited(2));
  s = Decode<v2::StateResponse>(Call("State", req));
  EXPECT_EQ(s.status(), v2::STOPPED);
  EXPECT_EQ(s.exit_status(), 2u);
  EXPECT_EQ(s.exited_at().seconds(), 1'700'000'000);
}

TEST_F(TaskServiceHarness, KillMapsSignalAndAll) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  v2::KillRequest req;
  req.set_id("c1");
  req.set_signal(SIGTERM);
  ASSERT_TRUE(Call("Kill", req));
  req.set_signal(SIGKILL);
  req.set_all(true);
  ASSERT_TRUE(Call("Kill", req));
  EXPECT_EQ(runtime_.calls.back(), "signal-all c1 9");
  EXPECT_EQ(runtime_.calls[runtime_.calls.size() - 2], "signal c1 15");
}

TEST_F(TaskServiceHarness, KillAfterTheExitIsOkWithoutSignalling) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  service_.OnExit(Exited(0));
  const size_t calls = runtime_.calls.size();
  v2::KillRequest req;
  req.set_id("c1");
  req.set_signal(SIGKILL);
  req.set_all(true);
  EXPECT_TRUE(Call("Kill", req));
  EXPECT_EQ(runtime_.calls.size(), calls);
}

TEST_F(TaskServiceHarness, KillOfADeadButUnreapedTaskIsNotFound) {
  CreateTask("c1");
  ASSERT_TRUE(StartTask("c1"));
  runtime_.fail_signal = Error::Domain(ErrorCode::kConflict, "container \"c1\" is not running");
  v2::KillRequest req;
  req.set_id("c1");
  req.set_signal(SIGTERM);
  auto r = Call("Kill", req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kNotFound);
  req.set_signal(1000);
  EXPECT_EQ(Call("Kill", req).error().code, Code::kInvalidArgument);
}

TEST_F(TaskServiceHarness, PidsListsTheRuntimesPids) {
  CreateTask("c1");
  v2::PidsRequest req;
  req.set_id("c1");
  auto p = Decode<v2::PidsResponse>(Call("Pids", req));
  ASSERT_EQ(p.processes_size(), 2);
  EXPECT_EQ(p.processes(0).pid(), 100u);
  EXPECT_EQ(p.processes(1).pid(), 101u);
}

TEST_F(TaskServiceHarness, ConnectAnswersAnyId) {
  CreateTask("c1");
  v2::ConnectRequest req;
  req.set_id("c1");
  auto c = Decode<v2::ConnectResponse>(Call("Connect", req));
  EXPECT_EQ(c.shim_pid(), static_cast<uint32_t>(kShimPid));
  EXPECT_EQ(c.task_pid(), 100u);
  EXPECT_FALSE(c.version().empty());
  req.set_id("other");
  EXPECT_EQ(Decode<v2::ConnectResponse>(Call("Connect", req)).task_pid(), 0u);
}

TEST_F(TaskServiceHarness, ShutdownEndsTheShimOnlyWithoutTasks) {
  CreateTask("c1");
  v2::ShutdownRequest req;
  req.set_id("c1");
  EXPECT_TRUE(Call("Shutdown", req));
  EXPECT_EQ(shutdowns_, 0);
  service_.OnExit(Exited(0));
  v2::DeleteRequest del;
  del.set_id("c1");
  ASSERT_TRUE(Call("Delete", del));
  EXPECT_TRUE(Call("Shutdown", req));
  EXPECT_EQ(shutdowns_, 1);
}

TEST_F(TaskServiceHarness, UnknownIdsAndExecIdsAreNotFound) {
  v2::StateRequest state;
  state.set_id("nope");
  auto r = Call("State", state);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kNotFound);
  EXPECT_EQ(r.error().message, "container \"nope\" not found");
  for (const char* method : {"Start", "Wait", "Kill", "Delete", "Pids"}) {
    v2::StartRequest any;  // id is field 1 in each of them
    any.set_id("nope");
    EXPECT_EQ(Call(method, any).error().code, Code::kNotFound) << method;
  }
  CreateTask("c1");
  state.set_id("c1");
  state.set_exec_id("e1");
  EXPECT_EQ(Call("State", state).error().code, Code::kNotFound);
}

TEST_F(TaskServiceHarness, BadPayloadIsInvalidArgument) {
  for (const char* method :
       {"Create", "Start", "Wait", "State", "Pids", "Kill", "Delete", "Connect", "Shutdown"}) {
    auto r = Call(method, std::string("\xff\xff\xff", 3));
    ASSERT_FALSE(r) << method;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << method;
    EXPECT_NE(r.error().message.find(method), std::string::npos) << r.error().message;
  }
}

TEST_F(TaskServiceHarness, OtherMethodsAndServicesAreUnimplemented) {
  for (const char* method : {"Checkpoint", "NoSuchMethod"}) {
    auto r = Call(method, "");
    ASSERT_FALSE(r) << method;
    EXPECT_EQ(r.error().code, Code::kUnimplemented) << method;
    EXPECT_NE(r.error().message.find(method), std::string::npos) << r.error().message;
  }
  auto r = Call("Forward", "", "containerd.services.events.ttrpc.v1.Events");
  EXPECT_EQ(r.error().code, Code::kUnimplemented);
  EXPECT_NE(r.error().message.find("containerd.services.events.ttrpc.v1.Events"),
            std::string::npos);
}

}  // namespace
}  // namespace podshim::shim::task
